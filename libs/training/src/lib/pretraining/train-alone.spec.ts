/**
 * A pretraining run in one process is the cluster's run: the same spec trained by `trainAlone`
 * (world size 1, no collective) and by two ranks over a real ring on loopback give the same step
 * losses and weights; and a run stopped, saved and resumed equals the uninterrupted run bit for bit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RingAllReduce } from '@llm-forge/collective';
import { runSpecSchema, type RunSpec } from '@llm-forge/cluster-protocol';
import { saveCheckpoint } from '@llm-forge/gpt';
import { maxAbsDiff, randomModel, TEST_CONFIG, TEST_TEXT, useBackend } from '@llm-forge/gpt/testing';
import { RingCollective } from '../collective/ring-collective';
import { TrainingLoop } from '../loop/training-loop';
import { dataPosition, rankLoader, stepShare } from './pretraining-steps';
import { freshReplica, replicaFromCheckpoint, type Replica } from './replica';
import { saveReplica } from './run-checkpoints';
import { trainAlone } from './train-alone';

let tmp: string;
let spec: RunSpec;
/** The spec trained alone, once, by the first test. */
let alone: { replica: Replica; summary: Awaited<ReturnType<typeof trainAlone>>; evals: number[] };
const open: Replica[] = [];

function fresh(s: RunSpec = spec): Replica {
  const replica = freshReplica('test-run', s);
  open.push(replica);
  return replica;
}

beforeAll(async () => {
  if (!(await useBackend('native'))) await useBackend('wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-train-alone-'));
  const init = path.join(tmp, 'init');
  const model = randomModel({ ...TEST_CONFIG, dropRate: 0.1 }, 11);
  saveCheckpoint(init, { config: model.config, params: model.readParameters() });
  model.dispose();
  const text = path.join(tmp, 'text.txt');
  fs.writeFileSync(text, TEST_TEXT);
  spec = runSpecSchema.parse({
    // No dropout: each rank draws its micro-batches' masks from (seed, step, micro), so masks, and
    // losses, of a run with dropout depend on the world size.
    model: { init, dropout: 0 },
    data: { text, valFraction: 0.1 },
    optimizer: { lr: 5e-3, minLr: 5e-4, warmupSteps: 2, schedule: 'cosine', gradClip: 1 },
    batchSize: 4,
    microBatchSize: 2, // two micro-batches per step: accumulation on
    contextLength: 16,
    stride: 8,
    steps: 6,
    evalEvery: 3,
    evalBatches: 1,
    seed: 7,
  });
});

afterAll(() => {
  for (const r of open) r.model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('trainAlone', () => {
  it('evaluates and samples where a cluster run does, and reports every step', async () => {
    const replica = fresh();
    const evals: number[] = [];
    alone = { replica, summary: await trainAlone(replica, { onEval: (e) => evals.push(e.step) }), evals };
    const { summary } = alone;
    expect(summary.stepLosses).toHaveLength(6);
    expect(summary.steps).toBe(6);
    expect(evals).toEqual([3, 6]);
    expect(summary.evals.at(-1)?.valLoss).toBeGreaterThan(0);
    expect(summary.sample).toMatch(/^Every effort moves you/);
    expect(summary.stepLosses[5]).toBeLessThan(summary.stepLosses[0]);
  });

  it('gives the losses and weights of the same spec on two ranks over a ring', async () => {
    const want = alone.summary.stepLosses;
    const rings = await Promise.all(
      [0, 1].map((rank) => RingAllReduce.listen({ secret: 's', rank, worldSize: 2, timeoutMs: 10_000 })),
    );
    try {
      await Promise.all(rings.map((r) => r.connect(rings.map((x) => x.address))));
      const ranks = rings.map((ring, rank) => {
        const replica = fresh();
        const loop = new TrainingLoop(replica.trainer, new RingCollective(ring), { verifyEvery: 3 });
        return { replica, loop, loader: rankLoader(replica, rank, 2) };
      });
      const losses: number[] = [];
      for (let step = 0; step < spec.steps; step++) {
        const metrics = await Promise.all(
          ranks.map((r) => r.loop.step(stepShare(r.replica, r.loader, step))),
        );
        expect(metrics[1].loss).toBe(metrics[0].loss);
        losses.push(metrics[0].loss);
      }
      expect(maxAbsDiff(losses, want)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(ranks[0].replica.trainer.params, alone.replica.trainer.params)).toBeLessThanOrEqual(
        1e-5,
      );
    } finally {
      await Promise.all(rings.map((r) => r.close()));
    }
  });

  it('resumes exactly: stopped after 3 steps, saved and resumed, it equals the uninterrupted run (dropout on)', async () => {
    const dropout = { ...spec, model: { ...spec.model, dropout: 0.1 } };
    const straight = fresh(dropout);
    const want = await trainAlone(straight);

    const first = fresh(dropout);
    const stop = new AbortController();
    const before = await trainAlone(first, { onStep: (m) => m.step === 2 && stop.abort() }, stop.signal);
    expect(before.steps).toBe(3);
    const dir = path.join(tmp, 'half');
    saveReplica(dir, first, dataPosition(first, rankLoader(first, 0, 1), 3));

    const resumed = replicaFromCheckpoint('test-run', dropout, dir, 3);
    open.push(resumed);
    const after = await trainAlone(resumed);
    expect([...before.stepLosses, ...after.stepLosses]).toEqual(want.stepLosses);
    expect(after.evals.at(-1)).toEqual(want.evals.at(-1));
    expect(maxAbsDiff(resumed.trainer.params, straight.trainer.params)).toBe(0);
  });

  it('refuses a checkpoint of another step, naming the file', () => {
    expect(() => replicaFromCheckpoint('test-run', spec, path.join(tmp, 'half'), 5)).toThrow(
      /half.*holds 3 steps of run test-run, expected 5 steps/,
    );
  });
});
