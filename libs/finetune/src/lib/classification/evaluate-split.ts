/** A classifier's metrics on one split: predictions and mean loss in batches, without gradients. */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from '@llm-forge/gpt';
import { splitBatches, type EncodedSplit } from './classification-dataset';
import type { GPTClassifier } from './classifier';
import { classificationMetrics, type ClassificationMetrics } from './metrics';

/**
 * Accuracy, per-class precision/recall/F1, confusion and the mean cross-entropy of the true classes
 * over `split` (NaN loss and accuracy for an empty split), in unshuffled batches of `batchSize`.
 */
export function evaluateSplit(
  classifier: GPTClassifier,
  split: EncodedSplit,
  batchSize: number,
): ClassificationMetrics {
  const predicted: number[] = [];
  let lossSum = 0;
  for (const batch of splitBatches(split, batchSize, classifier.spec.maxLength)) {
    const { loss, argmax } = tf.tidy(() => {
      const logits = classifier.logits(batch); // [B, n]
      return { loss: crossEntropy(logits, tf.tensor1d(batch.labels, 'int32')), argmax: tf.argMax(logits, 1) };
    });
    lossSum += loss.dataSync()[0] * batch.batchSize;
    predicted.push(...argmax.dataSync());
    tf.dispose([loss, argmax]);
  }
  const n = split.labels.length;
  return classificationMetrics(split.labels, predicted, classifier.spec.labels, n ? lossSum / n : NaN);
}
