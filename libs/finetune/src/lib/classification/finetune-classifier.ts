/**
 * The classification finetuning loop of chapter 6: epochs over shuffled training batches, cross-
 * entropy of the pooled token's class logits, AdamW on the selected parameters only; validation
 * loss and accuracy after each epoch; full metrics on every split at the end.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ParameterSet,
  crossEntropy,
  deriveSeed,
  Trainer,
  countTrainable,
} from '@llm-forge/gpt';
import {
  splitBatches,
  SPLIT_NAMES,
  type EncodedSplit,
  type Splits,
  type ClassificationBatch,
} from './classification-dataset';
import type { GPTClassifier } from './classifier';
import { classificationMetrics, type ClassificationMetrics } from './metrics';
import { selectTrainables, type TrainSelection } from './trainable-selection';

/** Hyperparameters of a classification run (the book: 5 epochs, batch 8, lr 5e-5, decay 0.1). */
export interface ClassifierTrainingOptions {
  train: TrainSelection;
  epochs: number;
  batchSize: number;
  lr: number;
  /** @defaultValue 0.1 */
  weightDecay?: number;
  /** Seed of shuffling and dropout. */
  seed: number;
}

/** Progress callbacks. */
export interface ClassifierTrainingEvents {
  onStep?(e: { step: number; totalSteps: number; loss: number; epoch: number }): void;
  onEpoch?(e: { epoch: number; trainLoss: number; valLoss: number; valAccuracy: number }): void;
}

/** What a run produced. */
export interface ClassifierTrainingResult {
  trainableParameters: number;
  totalParameters: number;
  steps: number;
  /** Mean training loss of each epoch. */
  epochLosses: number[];
  /** Metrics per split after training. */
  metrics: Record<(typeof SPLIT_NAMES)[number], ClassificationMetrics>;
}

/** Mean loss of a batch's true classes [B] → scalar. */
function batchLoss(classifier: GPTClassifier, batch: ClassificationBatch, dropoutSeed?: number): tf.Scalar {
  const logits = classifier.logits(batch, { training: dropoutSeed !== undefined, dropoutSeed });
  return crossEntropy(logits, tf.tensor1d(batch.labels, 'int32'));
}

/** Predictions and mean loss of a split, in batches, without gradients. */
export function evaluateSplit(
  classifier: GPTClassifier,
  split: EncodedSplit,
  batchSize: number,
): ClassificationMetrics {
  const predicted: number[] = [];
  let lossSum = 0;
  for (const batch of splitBatches(split, batchSize, classifier.spec.maxLength)) {
    const { loss, argmax } = tf.tidy(() => {
      const logits = classifier.logits(batch);
      return { loss: crossEntropy(logits, tf.tensor1d(batch.labels, 'int32')), argmax: tf.argMax(logits, 1) };
    });
    lossSum += loss.dataSync()[0] * batch.batchSize;
    predicted.push(...argmax.dataSync());
    tf.dispose([loss, argmax]);
  }
  const n = split.labels.length;
  return classificationMetrics(split.labels, predicted, classifier.spec.labels, n ? lossSum / n : NaN);
}

/** Finetunes `classifier` in place on the splits and evaluates it. */
export function finetuneClassifier(
  classifier: GPTClassifier,
  splits: Splits<EncodedSplit>,
  options: ClassifierTrainingOptions,
  events: ClassifierTrainingEvents = {},
): ClassifierTrainingResult {
  const trainables = selectTrainables(classifier, options.train);
  const batchesPerEpoch = Math.ceil(splits.train.labels.length / options.batchSize);
  const totalSteps = batchesPerEpoch * options.epochs;
  const trainer = new Trainer(ParameterSet.of(trainables), {
    schedule: { lr: options.lr, minLr: options.lr, warmupSteps: 0, totalSteps, schedule: 'constant' },
    adamw: { weightDecay: options.weightDecay ?? 0.1 },
    gradClip: 0, // the book does not clip when finetuning
  });
  const epochLosses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const batches = splitBatches(
      splits.train,
      options.batchSize,
      classifier.spec.maxLength,
      deriveSeed(options.seed, epoch),
    );
    let sum = 0;
    for (const batch of batches) {
      const dropoutSeed = deriveSeed(options.seed, 1_000_000 + trainer.stepsDone);
      const { loss } = trainer.step(() => batchLoss(classifier, batch, dropoutSeed));
      sum += loss;
      events.onStep?.({ step: trainer.stepsDone, totalSteps, loss, epoch: epoch + 1 });
    }
    epochLosses.push(sum / batches.length);
    if (events.onEpoch) {
      const val = evaluateSplit(classifier, splits.validation, options.batchSize);
      events.onEpoch({
        epoch: epoch + 1,
        trainLoss: sum / batches.length,
        valLoss: val.loss,
        valAccuracy: val.accuracy,
      });
    }
  }
  const metrics = Object.fromEntries(
    SPLIT_NAMES.map((name) => [name, evaluateSplit(classifier, splits[name], options.batchSize)]),
  ) as ClassifierTrainingResult['metrics'];
  const frozenBody = classifier.model.parameterCount;
  const head = classifier.weight.size + classifier.bias.size;
  return {
    trainableParameters: countTrainable(trainables),
    totalParameters: frozenBody + head + (classifier.lora?.parameterCount ?? 0),
    steps: trainer.stepsDone,
    epochLosses,
    metrics,
  };
}
