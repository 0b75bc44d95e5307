/**
 * A classification finetune job (the book's chapter 6; `forge finetune classify` is this job on one
 * process): the labelled data balanced, limited and split 70/10/20 per class (by default), padded to
 * the longest training example; the global batch of step s is batch s mod (steps per epoch) of the
 * epoch's seeded shuffle of the training split.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  FINETUNE_OPTION_DEFAULTS as O,
  type ClassificationEvaluation,
  type FinetuneMetric,
  type FinetuneSpec,
} from '@llm-forge/cluster-protocol';
import { createTokenizer, crossEntropy, deriveSeed, END_OF_TEXT_ID, TrainableTensor } from '@llm-forge/gpt';
import {
  balanceByDownsampling,
  encodeSplits,
  limitExamples,
  resolveLabels,
  splitBatches,
  SPLIT_NAMES,
  stratifiedSplit,
  type ClassificationBatch,
  type EncodedSplit,
  type Splits,
} from '../classification/classification-dataset';
import { GPTClassifier } from '../classification/classifier';
import { evaluateSplit } from '../classification/evaluate-split';
import { readLabeledFile } from '../classification/labeled-text';
import { SPAMASSASSIN, spamAssassinExamples } from '../classification/spam-assassin';
import { parseTrainSelection, selectTrainables } from '../classification/trainable-selection';
import type { ClassificationMetrics } from '../classification/metrics';
import { loadBaseModel } from './base-model';
import {
  finite,
  modelDirOf,
  rankRows,
  type FinishOptions,
  type JobTask,
  type LocalStep,
  type ShardedEvaluation,
  type TaskOutputs,
} from './job-task';

/** Metrics of every split, by name. */
export type SplitMetrics = Record<(typeof SPLIT_NAMES)[number], ClassificationMetrics>;

/** What a classification job produces: the protocol's evaluation, and the metrics it came from. */
export interface ClassificationOutputs extends TaskOutputs {
  evaluation: ClassificationEvaluation;
  metrics: SplitMetrics;
}

/** The encoded splits of a job's data. */
export interface ClassificationData {
  labels: string[];
  splits: Splits<EncodedSplit>;
  maxLength: number;
}

/** Loads, balances, limits, splits and encodes a job's labelled data (DataError naming file and line). */
export function classificationData(spec: FinetuneSpec, contextLength: number): ClassificationData {
  const all = spec.dataset === SPAMASSASSIN ? spamAssassinExamples() : readLabeledFile(spec.dataset);
  const labels = resolveLabels(all, spec.labels);
  let examples = spec.balance ? balanceByDownsampling(all, labels, spec.seed) : all;
  if (spec.maxExamples !== undefined) examples = limitExamples(examples, labels, spec.maxExamples, spec.seed);
  const validation = spec.valFraction ?? O.valFraction;
  const train = 1 - validation - (spec.testFraction ?? O.testFraction);
  const split = stratifiedSplit(examples, labels, { train, validation }, spec.seed);
  const { splits, maxLength } = encodeSplits(split, labels, createTokenizer(), {
    maxLength: spec.hyperparameters.maxLength,
    contextLength,
  });
  return { labels, splits, maxLength };
}

/** Rows [lo, hi) of a padded batch. */
function sliceBatch(batch: ClassificationBatch, lo: number, hi: number): ClassificationBatch {
  const T = batch.length;
  return {
    ids: batch.ids.subarray(lo * T, hi * T),
    lengths: batch.lengths.subarray(lo, hi),
    labels: batch.labels.subarray(lo, hi),
    batchSize: hi - lo,
    length: T,
  };
}

/** Per-split loss, accuracy and per-label precision/recall/F1 of the protocol. */
function splitSummary(
  labels: string[],
  m: ClassificationMetrics,
): ClassificationEvaluation['splits'][string] {
  return {
    loss: m.loss,
    accuracy: m.accuracy,
    perLabel: labels.map((label) => ({ label, ...pick(m.classes[label]) })),
  };
}

function pick(c: { precision: number; recall: number; f1: number }) {
  return { precision: c.precision, recall: c.recall, f1: c.f1 };
}

/** A classifier on the job's base with its selected trainables, and the job's batches. */
export class ClassificationTask implements JobTask {
  readonly trainables: TrainableTensor[];
  readonly stepsPerEpoch: number;
  readonly totalParameters: number;
  private epochBatches?: { epoch: number; batches: ClassificationBatch[] };

  private constructor(
    private readonly spec: FinetuneSpec,
    readonly classifier: GPTClassifier,
    readonly data: ClassificationData,
  ) {
    const selection = parseTrainSelection(spec.train);
    if (selection.kind === 'lora') {
      const rank = spec.lora?.rank ?? O.loraRank;
      classifier.attachLora({ rank, alpha: spec.lora?.alpha ?? rank, seed: spec.seed });
    }
    this.trainables = selectTrainables(classifier, selection);
    this.stepsPerEpoch = Math.ceil(data.splits.train.labels.length / spec.hyperparameters.batchSize);
    const head = classifier.weight.size + classifier.bias.size;
    this.totalParameters = classifier.model.parameterCount + head + (classifier.lora?.parameterCount ?? 0);
  }

  /** Loads the base and the data, and builds the classifier with its trainables selected. */
  static create(spec: FinetuneSpec): ClassificationTask {
    const base = loadBaseModel(spec);
    const params = base.readParameters();
    const config = base.config;
    base.dispose();
    const data = classificationData(spec, config.contextLength);
    const classifierSpec = {
      labels: data.labels,
      pooling: spec.pooling ?? O.pooling,
      maxLength: data.maxLength,
      padTokenId: END_OF_TEXT_ID,
    };
    const classifier = GPTClassifier.fromBase(config, params, classifierSpec, spec.seed);
    try {
      return new ClassificationTask(spec, classifier, data);
    } catch (e) {
      classifier.dispose();
      throw e;
    }
  }

  /** The global batch of a step: batch `k` of its epoch's seeded shuffle (`deriveSeed(seed, epoch)`). */
  globalBatch(step: number): ClassificationBatch {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    if (this.epochBatches?.epoch !== epoch) {
      const { batchSize } = this.spec.hyperparameters;
      const batches = splitBatches(
        this.data.splits.train,
        batchSize,
        this.data.maxLength,
        deriveSeed(this.spec.seed, epoch),
      );
      this.epochBatches = { epoch, batches };
    }
    return this.epochBatches.batches[step % this.stepsPerEpoch];
  }

  localStep(step: number, rank: number, worldSize: number): LocalStep {
    const batch = this.globalBatch(step);
    const [lo, hi] = rankRows(batch.batchSize, rank, worldSize);
    const weight = (hi - lo) / batch.batchSize;
    const batchTokens = batch.ids.length;
    if (hi === lo) return { weight, batchTokens };
    const slice = sliceBatch(batch, lo, hi);
    // Ranks draw their own dropout masks (only matters with dropout).
    const base = 1_000_000 + step;
    const dropoutSeed =
      worldSize === 1 ? deriveSeed(this.spec.seed, base) : deriveSeed(this.spec.seed, base, rank);
    const loss = () => {
      const logits = this.classifier.logits(slice, { training: true, dropoutSeed });
      return crossEntropy(logits, tf.tensor1d(slice.labels, 'int32'));
    };
    return { loss, weight, batchTokens };
  }

  /**
   * Validation loss and accuracy over the whole split, and training loss (`trainEvalLoss`) and
   * accuracy over its first `evalBatches` unshuffled batches (the book's estimate), each rank
   * evaluating a contiguous share of the examples.
   */
  evaluate(rank: number, worldSize: number): ShardedEvaluation<Partial<FinetuneMetric>> {
    const batches = this.spec.evalBatches ?? O.evalBatches;
    const { train, validation } = this.data.splits;
    const head = batches === 0 ? train.labels.length : batches * this.spec.hyperparameters.batchSize;
    const trainHead = { tokens: train.tokens.slice(0, head), labels: train.labels.slice(0, head) };
    const val = this.shareSums(validation, rank, worldSize);
    const tr = this.shareSums(trainHead, rank, worldSize);
    return {
      sums: Float32Array.from([...val, ...tr]),
      result: ([valLoss, valCorrect, valN, trainLoss, trainCorrect, trainN]) =>
        finite({
          valLoss: valLoss / valN,
          valAccuracy: valCorrect / valN,
          trainEvalLoss: trainLoss / trainN,
          trainAccuracy: trainCorrect / trainN,
        }),
    };
  }

  /** [loss sum, correct, examples] of this rank's contiguous share of a split. */
  private shareSums(split: EncodedSplit, rank: number, worldSize: number): number[] {
    const [lo, hi] = rankRows(split.labels.length, rank, worldSize);
    if (hi === lo) return [0, 0, 0];
    const share = { tokens: split.tokens.slice(lo, hi), labels: split.labels.slice(lo, hi) };
    const m = evaluateSplit(this.classifier, share, this.spec.hyperparameters.batchSize);
    return [m.loss * m.examples, m.accuracy * m.examples, m.examples];
  }

  /**
   * Metrics of every split (the evaluation leaves empty splits out) and the classifier saved to
   * the model directory (`<outDir>/model` unless `options.modelDir`; LoRA adapters in `adapter/`).
   */
  async finish(options: FinishOptions): Promise<ClassificationOutputs> {
    const { batchSize } = this.spec.hyperparameters;
    const labels = this.data.labels;
    const evaluation: ClassificationEvaluation = { labels, accuracy: {}, confusionMatrix: [], splits: {} };
    const metrics = {} as SplitMetrics;
    for (const name of SPLIT_NAMES) {
      await new Promise((resolve) => setImmediate(resolve));
      options.checkAbort?.();
      const m = evaluateSplit(this.classifier, this.data.splits[name], batchSize);
      metrics[name] = m;
      if (name === 'test') evaluation.confusionMatrix = m.confusion;
      if (m.examples === 0) continue;
      evaluation.accuracy[name] = m.accuracy;
      evaluation.splits[name] = splitSummary(labels, m);
    }
    const modelDir = modelDirOf(options);
    this.classifier.save(modelDir, { overwrite: true });
    return { modelDir, evaluation, metrics };
  }

  dispose(): void {
    this.classifier.dispose();
  }
}
