import * as tf from '@tensorflow/tfjs-core';
import type { GPTModel } from '../model/gpt-model';
import { crossEntropy, IGNORE_INDEX } from '../ops/cross-entropy';
import type { Batch } from '../data/window-batches';
import { batchTensors } from './trainer';

/** Mean cross-entropy of one batch, without dropout or gradients. */
export function batchLoss(model: GPTModel, batch: Batch, ignoreIndex = IGNORE_INDEX): number {
  const loss = tf.tidy(() => {
    const { inputs, targets } = batchTensors(batch);
    return crossEntropy(model.forward(inputs), targets, ignoreIndex);
  });
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

/**
 * The book's `calc_loss_loader`: the mean over batches of each batch's mean loss, over the first
 * `maxBatches` batches when given. Returns NaN for no batches.
 */
export function meanLoss(
  model: GPTModel,
  batches: Iterable<Batch>,
  maxBatches = Infinity,
): { loss: number; batches: number } {
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    if (count >= maxBatches) break;
    total += batchLoss(model, batch);
    count++;
  }
  return { loss: count ? total / count : NaN, batches: count };
}

/** Perplexity of a mean cross-entropy loss (nats): exp(loss). */
export function perplexity(loss: number): number {
  return Math.exp(loss);
}
