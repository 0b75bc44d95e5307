/**
 * Every backend against the primary one (the first that starts: native, else wasm) on a model with
 * a 512-token vocabulary: logits, loss, gradients, AdamW steps with clipping and weight decay, and
 * dropout. The golden spec matches the primary backend to PyTorch on the full GPT-2 vocabulary; this
 * spec carries that to the other backends without pushing 50,257-wide heads through them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPTConfig } from './config';
import { Trainer, type TrainerOptions } from '../training/trainer';
import { TEST_CONFIG, randomModel, spreadBatch } from '../test-utils/tiny-model';
import { testBackends, useBackend } from '../test-utils/backends';
import { maxAbsDiff, maxRelDiff } from '../test-utils/compare';

const CONFIG: GPTConfig = { ...TEST_CONFIG, vocabSize: 512 };
const T = CONFIG.contextLength;

const batch = spreadBatch(CONFIG);

/** Clipping below the initial gradient norm, so the clipped path runs on every step. */
const TRAINING: TrainerOptions = {
  schedule: { lr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 3, schedule: 'constant' },
  adamw: { weightDecay: 0.1 },
  gradClip: 0.5,
};

interface Observed {
  logits: Float32Array;
  loss: number;
  grads: Float32Array;
  stepLosses: number[];
  /** Live tensors after each step (a kernel that leaks makes them grow). */
  tensorCounts: number[];
  dropoutLosses: number[];
}

/** Runs every check on the active backend and returns the numbers. */
function observe(): Observed {
  const model = randomModel(CONFIG, 31);
  const input = tf.tensor2d(batch.inputs, [2, T], 'int32');
  const out = tf.tidy(() => model.forward(input));
  const logits = out.dataSync() as Float32Array;
  tf.dispose([out, input]);
  const trainer = new Trainer(model, TRAINING);
  const loss = trainer.computeGradients([batch]);
  const grads = trainer.grads.slice();
  trainer.applyGradients();
  const stepLosses = [loss];
  const tensorCounts = [tf.memory().numTensors];
  for (let k = 1; k < 3; k++) {
    stepLosses.push(trainer.step([batch]).loss);
    tensorCounts.push(tf.memory().numTensors);
  }
  model.dispose();
  const dropped = randomModel({ ...CONFIG, dropRate: 0.2 }, 31);
  const dropTrainer = new Trainer(dropped, { ...TRAINING, seed: 5 });
  const dropoutLosses = [0, 1].map(() => dropTrainer.step([batch]).loss);
  dropped.dispose();
  return { logits, loss, grads, stepLosses, tensorCounts, dropoutLosses };
}

describe('backend equivalence', () => {
  let reference: Observed | undefined;
  let primary: string | undefined;

  describe.each(testBackends())('the %s backend', (backend) => {
    let observed: Observed | undefined;
    beforeAll(async () => {
      if (!(await useBackend(backend))) return;
      observed = observe();
      if (!reference) {
        reference = observed;
        primary = backend;
      }
    });

    it('keeps the tensor count constant from step to step', () => {
      if (!observed) return;
      expect(new Set(observed.tensorCounts).size).toBe(1);
    });

    it('trains: the loss falls over three steps', () => {
      if (!observed) return;
      expect(observed.loss).toBeGreaterThan(Math.log(CONFIG.vocabSize) - 0.5);
      expect(observed.stepLosses[2]).toBeLessThan(observed.stepLosses[0]);
    });

    it('gives the primary backend’s logits, loss and gradients', () => {
      if (!observed || !reference || primary === backend) return;
      expect(maxAbsDiff(observed.logits, reference.logits)).toBeLessThan(1e-5);
      expect(Math.abs(observed.loss - reference.loss)).toBeLessThan(1e-5);
      expect(maxRelDiff(observed.grads, reference.grads)).toBeLessThan(1e-5);
    });

    it('takes the primary backend’s AdamW steps, with and without dropout', () => {
      if (!observed || !reference || primary === backend) return;
      expect(maxAbsDiff(observed.stepLosses, reference.stepLosses)).toBeLessThan(1e-4);
      expect(maxAbsDiff(observed.dropoutLosses, reference.dropoutLosses)).toBeLessThan(1e-4);
      expect(observed.dropoutLosses[0]).not.toBeCloseTo(observed.stepLosses[0], 3); // dropout is on
    });
  });
});
