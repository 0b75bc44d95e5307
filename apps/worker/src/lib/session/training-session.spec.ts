import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RingAllReduce } from '@llm-forge/collective';
import {
  jobAttemptId,
  runSpecSchema,
  type RankResult,
  type RunRankJobData,
  type RunSpecInput,
} from '@llm-forge/cluster-protocol';
import { prepareShards } from '@llm-forge/data-shards';
import { GPTModel, saveModel } from '@llm-forge/gpt';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { TrainingSession } from './training-session';

const TEXT = 'Every effort moves you forward, and every step of the way counts. '.repeat(60);

describe('TrainingSession', () => {
  let tmp = '';
  let textFile = '';
  let init = '';
  const rings: RingAllReduce[] = [];

  beforeAll(async () => {
    await initBackend(process.env.FORGE_BACKEND ?? 'auto');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-session-'));
    textFile = path.join(tmp, 'text.txt');
    fs.writeFileSync(textFile, TEXT);
    // A model with the GPT-2 vocabulary but a tiny body, so steps are fast.
    init = path.join(tmp, 'init');
    const model = GPTModel.random({ ...TEST_CONFIG, embDim: 16, nHeads: 2, nLayers: 1 }, 5);
    saveModel(init, model.config, model.readParameters());
    model.dispose();
  });
  afterAll(async () => {
    await Promise.all(rings.map((r) => r.close()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function sessions(n: number): Promise<{ session: TrainingSession; address: string }[]> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const ring = await RingAllReduce.listen({ rank: 0, worldSize: 1, secret: 'secret', timeoutMs: 1500 });
      rings.push(ring);
      out.push({ session: new TrainingSession(`w${i}`, ring), address: ring.address });
    }
    return out;
  }

  function job(
    step: number,
    attempt: number,
    rank: number,
    peers: string[],
    extra: Partial<RunRankJobData> = {},
    specExtra: Partial<RunSpecInput> = {},
  ): RunRankJobData {
    const spec = runSpecSchema.parse({
      model: { init },
      data: { text: textFile },
      batchSize: 4,
      steps: 6,
      shuffle: false,
      evalEvery: 0,
      checkpointEvery: 0,
      optimizer: { lr: 1e-2 },
      ...specExtra,
    });
    return {
      kind: 'run',
      jobId: 'run-1',
      step,
      endStep: step + 1,
      attempt,
      worldSize: peers.length,
      rank,
      peers: peers.map((address, r) => ({ workerId: `w${r}`, address })),
      spec,
      checkpointDir: path.join(tmp, 'ckpt'),
      ...extra,
    };
  }

  /** The loss of a one-step job. */
  const lossOf = (r: RankResult) => {
    if (!r.ok) throw new Error(r.error);
    return r.steps[0].loss;
  };

  it('leaves the replica unchanged when a step fails, so a smaller ring continues exactly', async () => {
    const [solo] = await sessions(1);
    const reference: number[] = [];
    for (let s = 0; s < 4; s++) reference.push(lossOf(await solo.session.run(job(s, 0, 0, [solo.address]))));

    const [a, b] = await sessions(2);
    const peers = [a.address, b.address];
    const losses: number[] = [];
    for (let s = 0; s < 2; s++) {
      const results = await Promise.all([
        a.session.run(job(s, 0, 0, peers)),
        b.session.run(job(s, 0, 1, peers)),
      ]);
      losses.push(lossOf(results[0]));
      expect(lossOf(results[1])).toBe(losses[s]);
    }
    // Step 2: rank 1 never shows up; rank 0 times out without applying anything.
    const failed = await a.session.run(job(2, 0, 0, peers));
    expect(failed).toMatchObject({ ok: false, kind: 'transient', appliedSteps: 2 });
    // The ring re-forms without b; a continues from memory.
    for (let s = 2; s < 4; s++) losses.push(lossOf(await a.session.run(job(s, 1, 0, [a.address]))));
    for (let s = 0; s < 4; s++) expect(losses[s]).toBeCloseTo(reference[s], 5);
    // b holds step 2 still; a job for step 3 finds no replica at that step.
    expect(await b.session.run(job(3, 1, 0, [b.address]))).toMatchObject({ ok: false, kind: 'state' });
  });

  it('writes checkpoints on rank 0 and resumes from them; a corrupt one is reported with its file', async () => {
    const [w] = await sessions(1);
    const checkpointDir = path.join(tmp, 'ckpt-resume');
    const losses: number[] = [];
    for (let s = 0; s < 4; s++) {
      const r = await w.session.run(job(s, 0, 0, [w.address], { checkpointDir }, { checkpointEvery: 2 }));
      losses.push(lossOf(r));
      if (s === 3) expect(r).toMatchObject({ steps: [{ checkpoint: { name: 'step-000004', step: 4 } }] });
    }
    expect(fs.readFileSync(path.join(checkpointDir, 'latest'), 'utf8').trim()).toBe('step-000004');

    const [fresh] = await sessions(1);
    const resumed = await fresh.session.run(
      job(
        2,
        1,
        0,
        [fresh.address],
        { checkpointDir, resumeFrom: path.join(checkpointDir, 'step-000002') },
        { checkpointEvery: 2 },
      ),
    );
    expect(lossOf(resumed)).toBeCloseTo(losses[2], 5);

    const weights = path.join(checkpointDir, 'step-000004', 'model.safetensors');
    fs.truncateSync(weights, 100);
    const broken = await fresh.session.run(
      job(
        4,
        2,
        0,
        [fresh.address],
        { checkpointDir, resumeFrom: path.join(checkpointDir, 'step-000004') },
        { checkpointEvery: 2 },
      ),
    );
    expect(broken).toMatchObject({ ok: false, kind: 'checkpoint', file: weights });
  });

  it('fails for good, naming the file, when a shard of the dataset is corrupt', async () => {
    const data = path.join(tmp, 'shards');
    await prepareShards({
      inputs: [{ name: 'test', documents: [TEXT, TEXT] }],
      outDir: data,
      threads: 0,
      shardTokens: 500,
    });
    const shard = fs.readdirSync(data).find((f) => f.endsWith('.bin')) as string;
    const file = path.join(data, shard);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const [w] = await sessions(1);
    const base = job(0, 0, 0, [w.address]);
    const result = await w.session.run({
      ...base,
      spec: { ...base.spec, data: { manifest: data, valFraction: 0.1 } },
    });
    expect(result).toMatchObject({ ok: false, kind: 'fatal', file });
    expect(result.ok === false && result.error).toContain(file);
  });

  it('fails a diverging run as fatal, naming the step, instead of reporting a loss of null', async () => {
    const [{ session, address }] = await sessions(1);
    const diverging = (step: number): RunRankJobData => {
      const base = job(step, 0, 0, [address], { jobId: 'run-diverging' });
      const optimizer = { ...base.spec.optimizer, lr: 1e30, minLr: 1e30, warmupSteps: 0, gradClip: 0 };
      return { ...base, spec: { ...base.spec, optimizer } };
    };
    let result: RankResult | undefined;
    for (let step = 0; step < 6; step++) {
      result = await session.run(diverging(step));
      if (!result.ok) break;
    }
    expect(result).toMatchObject({
      ok: false,
      kind: 'fatal',
      error: expect.stringMatching(/training diverged at step \d+/),
    });
  });

  /** The result of a successful job (throws with the error of a failed one). */
  const success = (r: RankResult) => {
    if (!r.ok) throw new Error(r.error);
    return r;
  };
  /** The report of a successful one-step job. */
  const only = (r: RankResult) => {
    const { steps } = success(r);
    expect(steps).toHaveLength(1);
    return steps[0];
  };

  it('a DiLoCo run syncs every innerSteps steps and checkpoints only after outer steps', async () => {
    const [a, b] = await sessions(2);
    const peers = [a.address, b.address];
    const diloco: Partial<RunSpecInput> = {
      steps: 7,
      checkpointEvery: 3,
      sync: { mode: 'diloco', innerSteps: 2 },
    };
    const extra = { jobId: 'run-d', checkpointDir: path.join(tmp, 'ckpt-diloco') };
    const written: number[] = [];
    for (let step = 0; step < 7; step++) {
      const results = await Promise.all(
        [a, b].map((w, rank) => w.session.run(job(step, 0, rank, peers, extra, diloco))),
      );
      const [lead, other] = results.map(only);
      if (lead.checkpoint) written.push(lead.checkpoint.step);
      // Only an outer step (every 2 steps, and the last) sends the parameters' change.
      const outer = (step + 1) % 2 === 0 || step === 6;
      expect(lead.bytesSent > 1000).toBe(outer);
      if (outer) expect(other.loss).toBe(lead.loss);
    }
    // The first outer step at or after each 3rd step, and the last.
    expect(written).toEqual([4, 6, 7]);
  });

  it('a DiLoCo run resumes with the outer momentum its checkpoint saved: the losses of the run without a stop', async () => {
    const diloco: Partial<RunSpecInput> = {
      steps: 8,
      checkpointEvery: 4,
      sync: { mode: 'diloco', innerSteps: 2 },
    };
    const lossesFrom = async (from: number, checkpointDir: string, resumeFrom?: string) => {
      const [w] = await sessions(1);
      const losses: number[] = [];
      for (let step = from; step < 8; step++) {
        const resume = step === from && resumeFrom !== undefined ? { resumeFrom } : {};
        const extra = { jobId: 'run-r', checkpointDir, ...resume };
        losses.push(only(await w.session.run(job(step, 0, 0, [w.address], extra, diloco))).loss);
      }
      return losses;
    };
    const whole = await lossesFrom(0, path.join(tmp, 'diloco-whole'));
    const dir = path.join(tmp, 'diloco-whole', 'step-000004');
    expect(fs.existsSync(path.join(dir, 'trainer_state.safetensors'))).toBe(true);
    const resumed = await lossesFrom(4, path.join(tmp, 'diloco-resumed'), dir);
    // Steps 6 and 7 follow the outer step at 6, which uses the momentum of the steps before 4.
    resumed.forEach((loss, i) => expect(Math.abs(loss - whole[4 + i])).toBeLessThan(1e-6));
  });

  /** DiLoCo with H = 3 over 6 steps: two outer steps, a checkpoint after the last. */
  const windows: Partial<RunSpecInput> = {
    steps: 6,
    checkpointEvery: 0,
    sync: { mode: 'diloco', innerSteps: 3 },
  };
  /** A DiLoCo job of the steps [step, endStep) on `peers`. */
  const window = (
    id: string,
    step: number,
    endStep: number,
    attempt: number,
    rank: number,
    peers: string[],
  ) => job(step, attempt, rank, peers, { jobId: id, endStep, checkpointDir: path.join(tmp, id) }, windows);
  /** The weights rank 0 saved after the run's last step. */
  const finalWeights = (id: string) =>
    fs.readFileSync(path.join(tmp, id, 'step-000006', 'model.safetensors'));

  it('a DiLoCo job of H inner steps on 2 ranks trains what H one-step jobs do, and meets the peers once', async () => {
    const stepwise = await sessions(2);
    const perStep: number[][] = [[], []];
    for (let step = 0; step < 6; step++) {
      const peers = stepwise.map((w) => w.address);
      const results = await Promise.all(
        stepwise.map((w, rank) => w.session.run(window('run-stepwise', step, step + 1, 0, rank, peers))),
      );
      results.map(only).forEach((r, rank) => perStep[rank].push(r.localLoss));
    }

    const batched = await sessions(2);
    const peers = batched.map((w) => w.address);
    const perJob: number[][] = [[], []];
    for (const [from, to] of [
      [0, 3],
      [3, 6],
    ]) {
      const results = await Promise.all(
        batched.map((w, rank) => w.session.run(window('run-batched', from, to, 0, rank, peers))),
      );
      results.map(success).forEach((r, rank) => {
        expect(r).toMatchObject({ step: from, appliedSteps: to });
        expect(r.steps.map((s) => s.step)).toEqual([from, from + 1, from + 2]);
        // Only the outer step, the job's last, sends anything.
        expect(r.steps.map((s) => s.bytesSent > 1000)).toEqual([false, false, true]);
        perJob[rank].push(...r.steps.map((s) => s.localLoss));
      });
      expect(batched.map((w) => w.session.held())).toEqual([
        { jobId: 'run-batched', appliedSteps: to },
        { jobId: 'run-batched', appliedSteps: to },
      ]);
    }
    perJob.forEach((losses, rank) =>
      losses.forEach((loss, i) => expect(Math.abs(loss - perStep[rank][i])).toBeLessThan(1e-6)),
    );
    expect(finalWeights('run-batched').equals(finalWeights('run-stepwise'))).toBe(true);
  });

  it('a worker lost during an outer step: the survivor goes back to the last outer step and re-runs it from memory, with the same losses', async () => {
    // Reference: steps 0-2 on two ranks, then steps 3-5 on the first rank alone.
    const [ra, rb] = await sessions(2);
    const reference = [ra.address, rb.address];
    await Promise.all([ra, rb].map((w, rank) => w.session.run(window('run-ref', 0, 3, 0, rank, reference))));
    const alone = success(await ra.session.run(window('run-ref', 3, 6, 1, 0, [ra.address])));

    const [a, b] = await sessions(2);
    const peers = [a.address, b.address];
    await Promise.all([a, b].map((w, rank) => w.session.run(window('run-lost', 0, 3, 0, rank, peers))));
    // b is lost: a takes its three inner steps alone, and the outer all-reduce times out.
    const failed = await a.session.run(window('run-lost', 3, 6, 1, 0, peers));
    expect(failed).toMatchObject({ ok: false, kind: 'transient', step: 3, appliedSteps: 3 });
    expect(a.session.held()).toEqual({ jobId: 'run-lost', appliedSteps: 3 });
    // The coordinator re-forms the ring with a alone, which holds step 3: no checkpoint needed.
    const rerun = success(await a.session.run(window('run-lost', 3, 6, 2, 0, [a.address])));
    expect(rerun.steps.map((s) => s.localLoss)).toEqual(alone.steps.map((s) => s.localLoss));
    expect(finalWeights('run-lost').equals(finalWeights('run-ref'))).toBe(true);
  });

  it('stops a DiLoCo job between inner steps when its attempt is aborted, back at its outer step', async () => {
    const [w] = await sessions(1);
    const running = w.session.run(window('run-abort', 0, 3, 0, 0, [w.address]));
    setImmediate(() => w.session.abort(jobAttemptId('run-abort', 0), 'run cancelled'));
    expect(await running).toMatchObject({
      ok: false,
      kind: 'transient',
      error: 'run cancelled',
      appliedSteps: 0,
    });
    const full = success(await w.session.run(window('run-abort', 0, 3, 1, 0, [w.address])));
    expect(full.appliedSteps).toBe(3);
  });

  it('fails the run for good, naming the reason, when the disk refuses a checkpoint', async () => {
    const full = path.join(tmp, 'full');
    fs.mkdirSync(full);
    try {
      // A 64 KB file system: the checkpoint's tensors do not fit (ENOSPC), as on a full disk.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full], { stdio: 'ignore' });
    } catch {
      console.log('SKIPPING the full-disk test: cannot mount a tmpfs here (needs root)');
      return;
    }
    try {
      const [w] = await sessions(1);
      const extra = { jobId: 'run-full', checkpointDir: path.join(full, 'run') };
      const result = await w.session.run(job(0, 0, 0, [w.address], extra, { checkpointEvery: 1 }));
      expect(result).toMatchObject({ ok: false, kind: 'fatal' });
      if (!result.ok) expect(result.error).toMatch(/ENOSPC|no space/i);
    } finally {
      execFileSync('umount', [full]);
    }
  });
});
