/**
 * The acceptance test of the training loop: N ranks on loopback, each on its slice of the global
 * batch, take the same steps as one process (world size 1, no collective) on the whole batch (losses within 1e-4, final
 * weights within 1e-5), and keep bit-identical replicas. Also: divergence detection and a peer
 * failure surfacing as the collective's typed error.
 */
import { CollectiveError } from '@llm-forge/collective';
import {
  createTokenizer,
  TrainingDivergedError,
  type Batch,
  type GPTConfig,
  type TrainerOptions,
} from '@llm-forge/gpt';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { ReplicaDivergenceError } from '../errors/replica-divergence-error';
import { rowShare } from './local-share';
import { OuterOptimizer, type DilocoOptions } from './outer-optimizer';
import {
  startRanks,
  stepAll,
  stepRank,
  stopRanks,
  type TestRank,
  type TestRingOptions,
} from '../test-utils/data-parallel-harness';
import { HANG_SLACK_MS } from '@llm-forge/collective/testing';
import { maxAbsDiff, TEST_CONFIG } from '@llm-forge/gpt/testing';

/**
 * libs/gpt's TEST_CONFIG (2 layers, 4 heads, width 32, context 16, no dropout) over a compact
 * vocabulary: the text's distinct GPT-2 ids renumbered 0..V-1 (V padded to a multiple of 64), so
 * the suite runs in seconds instead of computing 50257-way logits on every rank.
 */
const CONFIG: GPTConfig = { ...TEST_CONFIG, vocabSize: 128 };

const TEXT = (
  'Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse, ' +
  'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery ' +
  'part of the world. It is a way I have of driving off the spleen and regulating the circulation. '
).repeat(6);

const TRAINER: TrainerOptions = {
  schedule: { lr: 1e-3, minLr: 1e-4, warmupSteps: 2, totalSteps: 20, schedule: 'cosine' },
  gradClip: 1,
  seed: 7,
};
const STEPS = 20;

const open: TestRank[][] = [];
async function ranks(options: Omit<TestRingOptions, 'config' | 'tokens' | 'trainer'>): Promise<TestRank[]> {
  const started = await startRanks({ config: CONFIG, tokens, trainer: TRAINER, dataSeed: 3, ...options });
  open.push(started);
  return started;
}

let tokens: Int32Array;
beforeAll(async () => {
  const backend = await initBackend(); // FORGE_BACKEND, else the fastest that starts
  if (process.env.DEBUG_WORKER) console.log('backend', backend);
  const ids = createTokenizer().encode(TEXT);
  const vocab = [...new Set(ids)].sort((a, b) => a - b);
  expect(vocab.length).toBeLessThanOrEqual(CONFIG.vocabSize);
  const compact = new Map(vocab.map((id, i) => [id, i]));
  tokens = Int32Array.from(ids, (id) => compact.get(id)!);
});
afterAll(async () => {
  await Promise.all(open.map(stopRanks));
});

/** Losses of every step (as every rank saw them) and the final parameters of every rank. */
async function train(
  worldSize: number,
  globalBatchSize: number,
  overlap = true,
): Promise<{ losses: number[][]; params: Float32Array[]; verified: boolean[][] }> {
  const group = await ranks({ worldSize, globalBatchSize, checkEvery: 5, overlap });
  const losses: number[][] = [];
  const verified: boolean[][] = [];
  for (let s = 0; s < STEPS; s++) {
    const metrics = await stepAll(group);
    losses.push(metrics.map((m) => m.loss));
    verified.push(metrics.map((m) => m.verified));
  }
  return { losses, params: group.map((r) => r.trainer.params.slice()), verified };
}

describe('TrainingLoop', () => {
  describe.each([
    [6, [2, 3]],
    [5, [2]],
  ])('global batch %i', (B, worldSizes) => {
    let baseline: Awaited<ReturnType<typeof train>>;
    beforeAll(async () => {
      baseline = await train(1, B);
    });

    it('learns as one process', () => {
      const losses = baseline.losses.map((l) => l[0]);
      expect(losses[STEPS - 1]).toBeLessThan(losses[0] - 0.3);
      // One replica has nothing to compare its checksum with.
      expect(baseline.verified.flat()).not.toContain(true);
    });

    it.each(
      worldSizes.flatMap((N) => [[N, 'overlapped with backward'] as const, [N, 'after backward'] as const]),
    )('gives the 1-rank losses and weights with %i ranks, gradients summed %s', async (N, when) => {
      const { losses, params, verified } = await train(N, B, when === 'overlapped with backward');
      expect(verified[4]).toEqual(Array(N).fill(true)); // after step 5, every rank compared checksums
      const want = baseline.losses.map((l) => l[0]);
      // Every rank reports the same global loss, bit for bit, and holds the same bytes.
      for (const step of losses) expect(new Set(step).size).toBe(1);
      for (const p of params) expect(Buffer.from(p.buffer).equals(Buffer.from(params[0].buffer))).toBe(true);
      const lossDiff = maxAbsDiff(
        losses.map((l) => l[0]),
        want,
      );
      const weightDiff = maxAbsDiff(params[0], baseline.params[0]);
      if (process.env.DEBUG_WORKER)
        console.log(`B=${B} N=${N}: max |Δloss| ${lossDiff}, max |Δw| ${weightDiff}`);
      expect(lossDiff).toBeLessThanOrEqual(1e-4);
      expect(weightDiff).toBeLessThanOrEqual(1e-5);
    });
  });

  it('reports global tokens, this rank’s tokens and the bytes it sent', async () => {
    const group = await ranks({ worldSize: 2, globalBatchSize: 5, checkEvery: 1 });
    const metrics = await stepAll(group);
    expect(metrics.map((m) => m.tokens)).toEqual([80, 80]);
    expect(metrics.map((m) => m.localTokens)).toEqual([48, 32]);
    for (const m of metrics) {
      expect(m.step).toBe(0);
      expect(m.verified).toBe(true);
      expect(m.bytesSent).toBeGreaterThan(group[0].trainer.params.length * 4 * 0.9); // 2(N-1)/N of the grads
      expect(m.computeMs).toBeGreaterThan(0);
      expect(m.communicationMs).toBeGreaterThan(0);
    }
  });

  it('gives the 1-rank step when the ranks split their rows into micro-batches of different sizes', async () => {
    const [solo] = await ranks({ worldSize: 1, globalBatchSize: 5 });
    const pair = await ranks({ worldSize: 2, globalBatchSize: 5 });
    const batch = solo.loader.next(); // 5 rows
    const rows = (from: number, to: number): Batch => ({
      inputs: batch.inputs.slice(from * batch.contextLength, to * batch.contextLength),
      targets: batch.targets.slice(from * batch.contextLength, to * batch.contextLength),
      batchSize: to - from,
      contextLength: batch.contextLength,
    });
    const want = await solo.loop.step(rowShare(batch, 5));
    // Rank 0: micro-batches of 2 and 1 rows (unequal); rank 1: one of 2 rows.
    const got = await Promise.all([
      pair[0].loop.step(rowShare([rows(0, 2), rows(2, 3)], 5)),
      pair[1].loop.step(rowShare([rows(3, 5)], 5)),
    ]);
    for (const m of got) expect(Math.abs(m.loss - want.loss)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(pair[0].trainer.params, solo.trainer.params)).toBeLessThanOrEqual(1e-6);
    expect(
      Buffer.from(pair[1].trainer.params.buffer).equals(Buffer.from(pair[0].trainer.params.buffer)),
    ).toBe(true);
  });

  it('sends an untied token embedding as the rows of the tokens looked up, not all V rows', async () => {
    const untied: GPTConfig = { ...CONFIG, vocabSize: 2048, tiedHead: false };
    const sent = async (overlap: boolean): Promise<number> => {
      const group = await startRanks({
        config: untied,
        tokens,
        trainer: TRAINER,
        worldSize: 2,
        globalBatchSize: 4,
        overlap,
      });
      open.push(group);
      const [metrics] = await stepAll(group);
      return metrics.bytesSent;
    };
    const embeddingBytes = untied.vocabSize * untied.embDim * 4; // 2(N-1)/N = 1 of it per rank at N = 2
    expect(await sent(true)).toBeLessThan((await sent(false)) - 0.8 * embeddingBytes);
  });

  it('throws ReplicaDivergenceError naming the ranks when a replica differs', async () => {
    const group = await ranks({ worldSize: 3, globalBatchSize: 6, checkEvery: 2 });
    await stepAll(group);
    await expect(Promise.all(group.map((r) => r.loop.verifyReplicas()))).resolves.toBeDefined();
    group[2].trainer.params[123] += 1e-3; // a flipped bit's worth of drift on rank 2
    const results = await Promise.allSettled(group.map(stepRank));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as ReplicaDivergenceError;
      expect(error).toBeInstanceOf(ReplicaDivergenceError);
      expect(error.step).toBe(2);
      expect(error.divergentRanks).toEqual([2]);
      expect(error.message).toMatch(/ranks \[0, 1\] have [0-9a-f]{16}; ranks \[2\] have [0-9a-f]{16}/);
    }
  });

  it('surfaces a peer failure as a typed CollectiveError within the timeout', async () => {
    const timeoutMs = 1500;
    const group = await ranks({ worldSize: 2, globalBatchSize: 6, ring: { timeoutMs } });
    await stepAll(group);
    await group[1].ring.close(); // rank 1 dies between steps
    const started = Date.now();
    const error = await stepRank(group[0]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectiveError);
    expect((error as CollectiveError).step).toBe(4096 + 16); // optimizer step 1, its first gradient call
    expect(Date.now() - started).toBeLessThan(timeoutMs + HANG_SLACK_MS);
  });

  it('stops every rank alike with TrainingDivergedError before an update that would break the replicas', async () => {
    const group = await startRanks({
      config: CONFIG,
      tokens,
      worldSize: 2,
      globalBatchSize: 6,
      dataSeed: 3,
      trainer: {
        ...TRAINER,
        schedule: { ...TRAINER.schedule, lr: 1e30, minLr: 1e30, warmupSteps: 0 },
        gradClip: 0,
      },
    });
    open.push(group);
    let before: Float32Array[] = [];
    let error: unknown;
    for (let s = 0; s < 10 && error === undefined; s++) {
      before = group.map((r) => r.trainer.params.slice());
      const results = await Promise.allSettled(group.map(stepRank));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected.length > 0) {
        expect(rejected).toHaveLength(2); // both ranks, alike
        error = rejected[0].reason;
        expect(rejected[1].reason).toBeInstanceOf(TrainingDivergedError);
      }
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as TrainingDivergedError).message).toMatch(/training diverged at step \d+/);
    // The diverged step changed nothing: each rank still holds the parameters of the step before.
    group.forEach((r, i) => expect(maxAbsDiff(r.trainer.params, before[i])).toBe(0));
  });
});

describe('TrainingLoop in DiLoCo mode', () => {
  /** Losses, bytes sent and the parameters of every rank after each of `steps` steps. */
  async function dilocoRun(worldSize: number, diloco: DilocoOptions, steps = STEPS) {
    const group = await ranks({ worldSize, globalBatchSize: 6, checkEvery: 1, diloco });
    const record: { losses: number[]; bytes: number[]; params: Float32Array[]; verified: boolean[] }[] = [];
    for (let s = 0; s < steps; s++) {
      const metrics = await stepAll(group);
      record.push({
        losses: metrics.map((m) => m.loss),
        bytes: metrics.map((m) => m.bytesSent),
        params: group.map((r) => r.trainer.params.slice()),
        verified: metrics.map((m) => m.verified),
      });
    }
    return record;
  }

  it('at world size 1 with outer lr 1 and momentum 0 equals plain training', async () => {
    const plain = await train(1, 6);
    const diloco = await dilocoRun(1, { innerSteps: 4, outerLr: 1, outerMomentum: 0 });
    const losses = diloco.map((s) => s.losses[0]);
    expect(
      maxAbsDiff(
        losses,
        plain.losses.map((l) => l[0]),
      ),
    ).toBeLessThan(1e-5);
    expect(maxAbsDiff(diloco[STEPS - 1].params[0], plain.params[0])).toBeLessThan(1e-5);
  });

  it('on 2 ranks sends parameters only at outer steps, after which the replicas are identical', async () => {
    const H = 5;
    const run = await dilocoRun(2, { innerSteps: H, outerLr: 0.7, outerMomentum: 0.9 });
    const n = run[0].params[0].length;
    run.forEach((step, s) => {
      const outer = (s + 1) % H === 0;
      // Only an outer step sends anything (the pseudo-gradient and the loss): between outer steps
      // the ranks do not meet, and each reports its own loss.
      if (outer) expect(step.bytes[0]).toBeGreaterThan(4 * n * 0.5);
      else expect(step.bytes).toEqual([0, 0]);
      if (outer) expect(step.losses[1]).toBe(step.losses[0]);
      else expect(step.losses[1]).not.toBe(step.losses[0]);
      // The inner steps diverge (each rank its own slice); the outer step makes them equal again.
      const diff = maxAbsDiff(step.params[0], step.params[1]);
      if (outer) expect(diff).toBe(0);
      else expect(diff).toBeGreaterThan(0);
      expect(step.verified).toEqual([outer, outer]);
    });
    // It learns: the loss of the last outer window is below the first's.
    const mean = (from: number) => run.slice(from, from + H).reduce((a, s) => a + s.losses[0], 0) / H;
    expect(mean(STEPS - H)).toBeLessThan(mean(0));
  });

  it("waits at the outer step for a rank that fell behind during the inner steps, beyond the ring's timeout", async () => {
    // Ring timeout 400 ms. Rank 0 spends 800 ms on its inner steps, rank 1 1,400 ms: rank 0 waits
    // ~600 ms at the outer step, more than the timeout but less than its own inner steps took again.
    const H = 3;
    const group = await ranks({
      worldSize: 2,
      globalBatchSize: 6,
      diloco: { innerSteps: H, outerLr: 0.7, outerMomentum: 0.9 },
      ring: { timeoutMs: 400 },
    });
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const metrics = await Promise.all(
      group.map(async (rank, r) => {
        await pause(r === 0 ? 800 : 1400);
        const steps = [];
        for (let s = 0; s < H; s++) steps.push(await stepRank(rank));
        return steps;
      }),
    );
    expect(metrics[0][H - 1].loss).toBe(metrics[1][H - 1].loss); // they met: the global loss
    expect(maxAbsDiff(group[0].trainer.params, group[1].trainer.params)).toBe(0);
  });

  it('takes the outer Nesterov step of the paper', () => {
    const local = Float32Array.from([1, 2]);
    const outer = new OuterOptimizer(Float32Array.from([2, 4]), {
      innerSteps: 1,
      outerLr: 0.5,
      outerMomentum: 0.9,
    });
    const delta = outer.pseudoGradient(local); // [1, 2]
    expect(Array.from(delta)).toEqual([1, 2]);
    outer.apply(delta, local); // v = Δ; θ ← θ − 0.5·(Δ + 0.9·v) = θ − 0.95·Δ
    expect(Array.from(local)).toEqual([2 - 0.95, 4 - 1.9].map(Math.fround));
    const again = Float32Array.from(local);
    outer.apply(Float32Array.from([1, 1]), again); // v = 0.9·[1, 2] + 1; θ ← θ − 0.5·(1 + 0.9·v)
    expect(again[0]).toBeCloseTo(1.05 - 0.5 * (1 + 0.9 * 1.9), 5);
    expect(() => new OuterOptimizer(local, { innerSteps: 0, outerLr: 1, outerMomentum: 0 })).toThrow(
      /innerSteps/,
    );
  });
});
