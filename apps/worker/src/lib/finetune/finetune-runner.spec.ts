/**
 * A worker's share of finetune jobs over a real gRPC ring on loopback: data-parallel ranks agree
 * with a single rank, an abort stops a job and a new attempt continues from its saved state, and bad
 * input is a fatal failure naming the file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RingAllReduce } from '@llm-forge/collective';
import {
  finetuneResultSchema,
  finetuneSpecSchema,
  type FinetuneProgress,
  type FinetuneRankJobData,
  type FinetuneResult,
  type FinetuneSpecInput,
} from '@llm-forge/cluster-protocol';
import { GPTModel, saveModel } from '@llm-forge/gpt';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { FinetuneRunner } from './finetune-runner';

const HAM = [
  'see you at lunch',
  'the meeting moved to noon',
  'call me when you land',
  'thanks for the notes',
];
const SPAM = ['win money now', 'free prize claim today', 'cheap loans click here', 'you won a cruise'];

describe('FinetuneRunner', () => {
  let tmp = '';
  let base = '';
  let dataset = '';
  const rings: RingAllReduce[] = [];

  beforeAll(async () => {
    await initBackend(process.env.FORGE_BACKEND ?? 'auto');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-finetune-runner-'));
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

  async function runners(n: number): Promise<{ runner: FinetuneRunner; address: string }[]> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const ring = await RingAllReduce.listen({ rank: 0, worldSize: 1, secret: 'secret', timeoutMs: 5000 });
      rings.push(ring);
      out.push({ runner: new FinetuneRunner(`w${i}`, ring), address: ring.address });
    }
    return out;
  }

  function jobs(
    id: string,
    attempt: number,
    peers: string[],
    outDir: string,
    spec: Partial<FinetuneSpecInput> = {},
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
      finetuneId: id,
      attempt,
      worldSize: peers.length,
      rank,
      peers: peers.map((address, r) => ({ workerId: `w${r}`, address })),
      spec: parsed,
      outDir,
    }));
  }

  const losses = (r: FinetuneResult) => (r.ok ? (r.history ?? []).map((h) => h.trainLoss) : []);

  it('two ranks over the ring train the same model as one', async () => {
    const [solo] = await runners(1);
    const [one] = await Promise.all([
      solo.runner.run(jobs('ft-solo', 0, [solo.address], path.join(tmp, 'solo'))[0]),
    ]);
    const pair = await runners(2);
    const twoJobs = jobs(
      'ft-pair',
      0,
      pair.map((p) => p.address),
      path.join(tmp, 'pair'),
    );
    const two = await Promise.all(pair.map((p, r) => p.runner.run(twoJobs[r])));
    for (const r of [one, ...two]) expect(r).toMatchObject({ ok: true });
    if (!one.ok || !two[0].ok || !two[1].ok) return;
    expect(two[0].steps).toBe(one.steps);
    expect(two[1].steps).toBe(one.steps);
    expect(losses(two[0]).length).toBeGreaterThan(0);
    losses(two[0]).forEach((loss, i) => expect(Math.abs(loss - losses(one)[i])).toBeLessThan(1e-4));
    expect(two[0].evaluation).toMatchObject({ labels: ['ham', 'spam'] });
    expect(two[1].evaluation).toBeUndefined(); // rank 0 evaluates and saves
    expect(fs.existsSync(path.join(two[0].modelDir!, 'config.json'))).toBe(true);
  });

  it('an aborted job fails as transient; the next attempt continues from the saved state', async () => {
    const [w] = await runners(1);
    const outDir = path.join(tmp, 'resumed');
    const progress: FinetuneProgress[] = [];
    const [first] = jobs('ft-abort', 0, [w.address], outDir, {
      hyperparameters: { epochs: 4, batchSize: 4, lr: 1e-3, maxLength: 8 },
    });
    const aborted = await w.runner.run(first, {
      onProgress: (p) => {
        progress.push(p);
        if (p.step >= 3) w.runner.abort('ft-abort.a0', 'cancelled by the test');
      },
    });
    expect(aborted).toMatchObject({ ok: false, kind: 'transient' });
    if (!aborted.ok) expect(aborted.error).toContain('cancelled by the test');
    const total = progress[0].totalSteps;
    const resumed: FinetuneProgress[] = [];
    const [second] = jobs('ft-abort', 1, [w.address], outDir, {
      hyperparameters: { epochs: 4, batchSize: 4, lr: 1e-3, maxLength: 8 },
    });
    const done = await w.runner.run(second, { onProgress: (p) => resumed.push(p) });
    expect(done).toMatchObject({ ok: true, steps: total });
    // it started from a saved step, not from 0
    expect(resumed[0].step).toBeGreaterThan(1);
  });

  it('an instruction job over two ranks: responses saved, the result valid for the coordinator', async () => {
    const data = path.join(tmp, 'instructions.json');
    const entries = Array.from({ length: 20 }, (_, i) => ({
      instruction: `Repeat the number ${i}.`,
      input: i % 2 ? '' : `number ${i}`,
      output: `${i}`,
    }));
    fs.writeFileSync(data, JSON.stringify(entries));
    const pair = await runners(2);
    const spec = {
      kind: 'instruction' as const,
      dataset: data,
      hyperparameters: { epochs: 1, batchSize: 4, lr: 1e-3, maxLength: 16 },
      maxResponses: 2,
    };
    const both = jobs(
      'ft-instruct',
      0,
      pair.map((p) => p.address),
      path.join(tmp, 'instruct'),
      spec,
    );
    const results = await Promise.all(pair.map((p, r) => p.runner.run(both[r])));
    for (const r of results) {
      const parsed = finetuneResultSchema.parse(r);
      expect(parsed.ok ? 'ok' : parsed.error).toBe('ok');
    }
    const lead = results[0];
    if (!lead.ok) return;
    expect(lead.evaluation).toMatchObject({ responses: [{}, {}], judgeNote: expect.any(String) });
    const file = (lead.evaluation as { responsesFile: string }).responsesFile;
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toHaveLength(2);
  });

  it('a malformed dataset is a fatal failure naming the file', async () => {
    const [w] = await runners(1);
    const bad = path.join(tmp, 'bad.csv');
    fs.writeFileSync(bad, 'label,text\nspam\n');
    const [job] = jobs('ft-bad', 0, [w.address], path.join(tmp, 'bad'), { dataset: bad });
    const result = await w.runner.run(job);
    expect(result).toMatchObject({ ok: false, kind: 'fatal' });
    if (!result.ok) expect(result.error).toContain(bad);
  });
});
