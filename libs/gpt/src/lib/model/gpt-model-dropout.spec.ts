/**
 * Training with dropout (rate 0.1, the GPT-2 presets' default) through the Forge dropout kernels:
 * the loss falls, and the native and cpu backends, whose kernels draw the same counter-based
 * masks, take the same steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeCausalAttention, ForgeDropout } from '@llm-forge/tfjs-backend-native';
import type { GPTConfig } from './config';
import { Trainer } from '../training/trainer';
import { hasFusedKernel } from '../ops/fused-kernels';
import { TEST_CONFIG, randomModel, spreadBatch } from '../test-utils/tiny-model';
import { testBackends, useBackend } from '../test-utils/backends';
import { maxAbsDiff } from '../test-utils/compare';

const CONFIG: GPTConfig = { ...TEST_CONFIG, vocabSize: 512, dropRate: 0.1 };
const batch = spreadBatch(CONFIG);

/** Losses of five AdamW steps on one batch with dropout on, and the live tensors after each. */
function stepLosses(): { losses: number[]; counts: number[] } {
  const model = randomModel(CONFIG, 17);
  const trainer = new Trainer(model, {
    schedule: { lr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 5, schedule: 'constant' },
    seed: 9,
  });
  const counts: number[] = [];
  const losses = [0, 1, 2, 3, 4].map(() => {
    const { loss } = trainer.step([batch]);
    counts.push(tf.memory().numTensors);
    return loss;
  });
  model.dispose();
  return { losses, counts };
}

describe('training with dropout on the Forge kernels', () => {
  const losses = new Map<string, number[]>();

  it.each(testBackends(['native', 'cpu']))('trains on %s: the loss falls', async (backend) => {
    if (!(await useBackend(backend))) return;
    expect(hasFusedKernel(ForgeDropout) && hasFusedKernel(ForgeCausalAttention)).toBe(true);
    const { losses: run, counts } = stepLosses();
    expect(new Set(counts).size).toBe(1); // the kernels and their gradients free what they make
    expect(run[4]).toBeLessThan(run[0] - 0.5);
    losses.set(backend, run);
  });

  it('takes the same steps on native and cpu (the same masks)', () => {
    const [native, cpu] = [losses.get('native'), losses.get('cpu')];
    if (!native || !cpu) return; // a backend did not start here
    expect(maxAbsDiff(native, cpu)).toBeLessThan(1e-4);
  });
});
