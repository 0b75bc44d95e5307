/**
 * A worker's steps of finetune jobs over a real gRPC ring on loopback, driven step by step as the
 * coordinator drives them: data-parallel ranks agree with a single rank, a new attempt on a fresh
 * worker continues from the saved state the coordinator names, rank 0 finishes the job after the
 * last step, and bad input is a fatal failure naming the file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RingAllReduce } from '@llm-forge/collective';
import {
  finetuneSpecSchema,
  rankResultSchema,
  type FinetuneRankJobData,
  type FinetuneSpecInput,
  type RankResult,
  type RankStepReport,
  type RankSuccess,
} from '@llm-forge/cluster-protocol';
import { GPTModel, saveModel } from '@llm-forge/gpt';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { TrainingSession } from './training-session';

const HAM = [
  'see you at lunch',
  'the meeting moved to noon',
  'call me when you land',
  'thanks for the notes',
];
const SPAM = ['win money now', 'free prize claim today', 'cheap loans click here', 'you won a cruise'];

describe('TrainingSession: finetune steps', () => {
  let tmp = '';
  let base = '';
  let dataset = '';
  const rings: RingAllReduce[] = [];

  beforeAll(async () => {
    await initBackend(process.env.FORGE_BACKEND ?? 'auto');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-finetune-steps-'));
    base = path.join(tmp, 'base');
    const model = GPTModel.random({ ...TEST_CONFIG, embDim: 16, nHeads: 2, nLayers: 1 }, 5);
    saveModel(base, model.config, model.readParameters());
    model.dispose();
    dataset = path.join(tmp, 'sms.csv');
    const rows = [...HAM.map((t) => `ham,${t}`), ...SPAM.map((t) => `spam,${t}`)];
    fs.writeFileSync(dataset, `label,text\n${[...rows, ...rows, ...rows].join('\n')}\n`);
  });
  afterAll(async () => {
    await Promise.all(rings.map((r) => r.close()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function workers(n: number): Promise<{ session: TrainingSession; address: string }[]> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const ring = await RingAllReduce.listen({ rank: 0, worldSize: 1, secret: 'secret', timeoutMs: 5000 });
      rings.push(ring);
      out.push({ session: new TrainingSession(`w${i}`, ring), address: ring.address });
    }
    return out;
  }

  /** The rank jobs of one step of a finetune over `peers`. */
  function stepJobs(
    id: string,
    step: number,
    attempt: number,
    peers: string[],
    outDir: string,
    spec: Partial<FinetuneSpecInput> = {},
    resumeFrom?: string,
  ): FinetuneRankJobData[] {
    const parsed = finetuneSpecSchema.parse({
      kind: 'classification',
      baseCheckpoint: base,
      dataset,
      hyperparameters: { epochs: 2, batchSize: 4, lr: 1e-3, maxLength: 8 },
      balance: false,
      checkpointEvery: 2,
      ...spec,
    });
    return peers.map((_, rank) => ({
      kind: 'finetune',
      jobId: id,
      step,
      endStep: step + 1,
      attempt,
      worldSize: peers.length,
      rank,
      peers: peers.map((address, r) => ({ workerId: `w${r}`, address })),
      spec: parsed,
      outDir,
      ...(resumeFrom !== undefined ? { resumeFrom } : {}),
    }));
  }

  /** The report of a finetune job's one step (a finetune's job covers one step). */
  const ok = (r: RankResult): RankStepReport => {
    if (!r.ok) throw new Error(`${r.kind}: ${r.error}`);
    const { steps } = rankResultSchema.parse(r) as RankSuccess;
    expect(steps).toHaveLength(1);
    return steps[0];
  };

  /**
   * Takes steps `from` .. (the job's end, or `until`) as the coordinator does: one step's rank jobs
   * at a time; returns every step's results, rank order.
   */
  async function drive(
    ws: { session: TrainingSession; address: string }[],
    jobsAt: (step: number, resumeFrom?: string) => FinetuneRankJobData[],
    options: { from?: number; until?: number; resumeFrom?: string } = {},
  ): Promise<RankStepReport[][]> {
    const steps: RankStepReport[][] = [];
    let total = Infinity;
    for (let step = options.from ?? 0; step < Math.min(total, options.until ?? Infinity); step++) {
      const jobs = jobsAt(step, step === options.from ? options.resumeFrom : undefined);
      const results = (await Promise.all(ws.map((w, r) => w.session.run(jobs[r])))).map(ok);
      total = results[0].finetune?.totalSteps ?? total;
      steps.push(results);
    }
    return steps;
  }

  const logged = (steps: RankStepReport[][]) =>
    steps.flatMap(([lead]) => (lead.finetune?.logged ? [lead.finetune.logged] : []));

  it('two ranks over the ring train the same model as one; rank 0 finishes after the last step', async () => {
    const [solo] = await workers(1);
    const one = await drive([solo], (s) => stepJobs('ft-solo', s, 0, [solo.address], path.join(tmp, 'solo')));
    const pair = await workers(2);
    const peers = pair.map((p) => p.address);
    const two = await drive(pair, (s) => stepJobs('ft-pair', s, 0, peers, path.join(tmp, 'pair')));
    expect(two).toHaveLength(one.length);
    const soloLosses = logged(one).map((p) => p.trainLoss);
    expect(soloLosses.length).toBeGreaterThan(0);
    logged(two).forEach((p, i) => expect(Math.abs(p.trainLoss - soloLosses[i])).toBeLessThan(1e-4));
    const [lead, other] = two[two.length - 1];
    expect(lead.finetune?.evaluation).toMatchObject({ labels: ['ham', 'spam'] });
    expect(other.finetune).toBeUndefined(); // rank 0 reports, evaluates and saves
    expect(fs.existsSync(path.join(lead.finetune?.modelDir ?? '', 'config.json'))).toBe(true);
    // Rank 0 saved resumable states every 2 steps and after each epoch.
    expect(two.some(([r]) => r.checkpoint?.name === 'step-000002')).toBe(true);
  });

  it('a fresh worker continues from the saved state the coordinator names, with the same losses', async () => {
    const outDir = path.join(tmp, 'resumed');
    const spec = { hyperparameters: { epochs: 3, batchSize: 4, lr: 1e-3, maxLength: 8 } };
    const [w] = await workers(1);
    const whole = await drive([w], (s) =>
      stepJobs('ft-whole', s, 0, [w.address], path.join(tmp, 'whole'), spec),
    );
    const [first] = await workers(1);
    const part = await drive([first], (s) => stepJobs('ft-resume', s, 0, [first.address], outDir, spec), {
      until: 5,
    });
    const state = part.flatMap(([r]) => (r.checkpoint ? [r.checkpoint] : [])).at(-1);
    expect(state?.step).toBe(4);
    // The worker is lost; a new one is told the state to start from.
    const [second] = await workers(1);
    expect(
      await second.session.run(stepJobs('ft-resume', 4, 1, [second.address], outDir, spec)[0]),
    ).toMatchObject({
      ok: false,
      kind: 'state',
    });
    const rest = await drive(
      [second],
      (s, from) => stepJobs('ft-resume', s, 1, [second.address], outDir, spec, from),
      { from: 4, resumeFrom: state?.path },
    );
    const losses = [...part.slice(0, 4), ...rest].map(([r]) => r.loss);
    losses.forEach((loss, i) => expect(Math.abs(loss - whole[i][0].loss)).toBeLessThan(1e-5));
    // The resumed replica carries the history saved with the state.
    expect(logged(rest).every((p) => p.step > 4)).toBe(true);
  });

  it('a corrupt state is a checkpoint failure naming the file; a bad base model is fatal', async () => {
    const outDir = path.join(tmp, 'corrupt');
    const [w] = await workers(1);
    const part = await drive([w], (s) => stepJobs('ft-corrupt', s, 0, [w.address], outDir), { until: 2 });
    const state = part[1][0].checkpoint?.path ?? '';
    const tensors = path.join(state, 'trainer.safetensors');
    const bytes = fs.readFileSync(tensors);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(tensors, bytes);
    const [fresh] = await workers(1);
    const broken = await fresh.session.run(
      stepJobs('ft-corrupt', 2, 1, [fresh.address], outDir, {}, state)[0],
    );
    expect(broken).toMatchObject({ ok: false, kind: 'checkpoint' });
    if (!broken.ok) expect(broken.error).toContain(state);
    const noBase = stepJobs('ft-nobase', 0, 0, [fresh.address], path.join(tmp, 'nobase'), {
      baseCheckpoint: path.join(tmp, 'missing'),
    })[0];
    expect(await fresh.session.run(noBase)).toMatchObject({ ok: false, kind: 'fatal' });
  });

  it('an instruction job over two ranks: responses saved, the results valid for the coordinator', async () => {
    const data = path.join(tmp, 'instructions.json');
    const entries = Array.from({ length: 20 }, (_, i) => ({
      instruction: `Repeat the number ${i}.`,
      input: i % 2 ? '' : `number ${i}`,
      output: `${i}`,
    }));
    fs.writeFileSync(data, JSON.stringify(entries));
    const pair = await workers(2);
    const spec = {
      kind: 'instruction' as const,
      dataset: data,
      hyperparameters: { epochs: 1, batchSize: 4, lr: 1e-3, maxLength: 16 },
      maxResponses: 2,
    };
    const peers = pair.map((p) => p.address);
    const steps = await drive(pair, (s) =>
      stepJobs('ft-instruct', s, 0, peers, path.join(tmp, 'instruct'), spec),
    );
    const lead = steps[steps.length - 1][0];
    expect(lead.finetune?.evaluation).toMatchObject({ responses: [{}, {}], judgeNote: expect.any(String) });
    const file = (lead.finetune?.evaluation as { responsesFile: string }).responsesFile;
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toHaveLength(2);
  });

  it('a quick try (maxSteps) ends after that many steps, and rank 0 still evaluates and saves', async () => {
    const [w] = await workers(1);
    const steps = await drive([w], (s) =>
      stepJobs('ft-quick', s, 0, [w.address], path.join(tmp, 'quick'), { maxSteps: 3 }),
    );
    expect(steps).toHaveLength(3);
    const lead = steps[2][0];
    expect(lead.finetune).toMatchObject({ totalSteps: 3, evaluation: { labels: ['ham', 'spam'] } });
  });

  it('a malformed dataset is a fatal failure naming the file', async () => {
    const [w] = await workers(1);
    const bad = path.join(tmp, 'bad.csv');
    fs.writeFileSync(bad, 'label,text\nspam\n');
    const [job] = stepJobs('ft-bad', 0, 0, [w.address], path.join(tmp, 'bad'), { dataset: bad });
    const result = await w.session.run(job);
    expect(result).toMatchObject({ ok: false, kind: 'fatal' });
    if (!result.ok) expect(result.error).toContain(bad);
  });
});
