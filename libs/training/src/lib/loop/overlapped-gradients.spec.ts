/**
 * What OverlappedGradients hands the collective, and when: the presence vector before backward,
 * every bucket while backward still runs (all but the last, which backward finishes at its end),
 * in plan order with increasing parts, covering every gradient once; then the embedding rows.
 * (That N ranks equal one rank with it is training-loop.spec.ts.)
 */
import { GPTModel, Trainer, type Batch, type TrainerOptions } from '@llm-forge/gpt';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import type { GradientCollective, ReduceOptions } from '../collective/gradient-collective';
import { OverlappedGradients } from './overlapped-gradients';

interface Call {
  part: number;
  length: number;
  at: number;
  values: Float32Array;
}

/** A collective of two ranks whose peer contributes zeros: a sum that leaves the values as they are. */
function recordingCollective(calls: Call[]): GradientCollective {
  return {
    rank: 0,
    worldSize: 2,
    allReduce: async (values: Float32Array, options: ReduceOptions) => {
      calls.push({ part: options.part ?? 0, length: values.length, at: performance.now(), values });
      return { elapsedMs: 0, bytesSent: values.length * 4 };
    },
  };
}

const OPTIONS: TrainerOptions = {
  schedule: { lr: 1e-3, minLr: 1e-4, warmupSteps: 0, totalSteps: 5, schedule: 'cosine' },
};
const B = 2;
const T = 8;
const batch: Batch = {
  inputs: Int32Array.from({ length: B * T }, (_, i) => (i * 37) % 200),
  targets: Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 1) % 200),
  batchSize: B,
  contextLength: T,
};

describe('OverlappedGradients', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it.each([true, false])(
    'hands every bucket over during backward, in plan order (tied head: %s)',
    async (tiedHead) => {
      const config = { ...TEST_CONFIG, vocabSize: 256, tiedHead };
      const model = GPTModel.random(config, 1);
      const trainer = new Trainer(model, OPTIONS);
      const reference = new Trainer(GPTModel.random(config, 1), OPTIONS);
      reference.computeGradients([batch]);

      const calls: Call[] = [];
      let backwardEnded = 0;
      const compute = trainer.computeGradients.bind(trainer);
      jest.spyOn(trainer, 'computeGradients').mockImplementation((...args) => {
        const loss = compute(...args);
        backwardEnded = performance.now();
        return loss;
      });
      // Buckets of at least 4 KiB: several of them for this model.
      const overlapped = new OverlappedGradients(trainer, recordingCollective(calls), { bucketBytes: 4096 });
      const cost = await overlapped.sumGradients([batch], 1, 0);

      const [presence, ...rest] = calls;
      const rows = rest.pop() as Call;
      const buckets = rest;
      expect(presence).toMatchObject({ part: 0, length: config.vocabSize });
      expect(buckets.length).toBeGreaterThan(3);
      expect(buckets.map((c) => c.part)).toEqual(buckets.map((_, k) => 1 + k));
      expect(rows.part).toBe(buckets.length + 1);
      // All but the last bucket went out before backward ended; the rows after it.
      for (const c of buckets.slice(0, -1)) expect(c.at).toBeLessThan(backwardEnded);
      expect(rows.at).toBeGreaterThanOrEqual(backwardEnded);
      // Every gradient in exactly one bucket, but for the untied embedding (rows only).
      const wte = model.layout.specs[0].size;
      const bucketed = buckets.reduce((n, c) => n + c.length, 0);
      expect(bucketed).toBe(model.layout.totalSize - (tiedHead ? 0 : wte));
      const distinctIds = new Set(batch.inputs).size;
      expect(rows.length).toBe(distinctIds * config.embDim);
      // With a peer of zeros, the sum is this rank's own gradient.
      let worst = 0;
      trainer.grads.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - reference.grads[i]))));
      expect(worst).toBeLessThan(1e-6);
      expect(cost.bytesSent).toBe(calls.reduce((n, c) => n + 4 * c.length, 0));
      model.dispose();
      reference.model?.dispose();
    },
  );
});
