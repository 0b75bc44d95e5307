/**
 * From labelled texts to padded token batches, as chapter 6 of the book: class balancing by
 * downsampling, a seeded stratified train/validation/test split (70/10/20 by default), GPT-2
 * tokens truncated to a maximum length and padded with 50256 to the longest training example.
 */
import { DataError, END_OF_TEXT_ID, Rng, type Tokenizer } from '@llm-forge/gpt';
import type { LabeledExample } from './labeled-text';

/** The three splits of a dataset. */
export interface Splits<T> {
  train: T;
  validation: T;
  test: T;
}

/** Split names in the order metrics are reported. */
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;

/**
 * The class labels in index order: `labels` when given (any other label in the data is an error
 * naming where it occurs), else the distinct labels sorted (ham = 0, spam = 1 as in the book).
 */
export function resolveLabels(examples: readonly LabeledExample[], labels?: readonly string[]): string[] {
  if (labels) {
    const known = new Set(labels);
    if (known.size !== labels.length) throw new DataError(`labels ${labels.join(',')} repeat a label`);
    const unknown = examples.find((e) => !known.has(e.label));
    if (unknown) {
      throw new DataError(
        `${unknown.source}: unknown label "${unknown.label}"`,
        `the labels are ${labels.join(', ')}`,
      );
    }
  }
  const resolved = labels ? [...labels] : [...new Set(examples.map((e) => e.label))].sort();
  if (resolved.length < 2) {
    throw new DataError(
      `a classifier needs at least 2 labels, the data has ${resolved.join(', ') || 'none'}`,
    );
  }
  return resolved;
}

function byLabel(examples: readonly LabeledExample[], labels: readonly string[]): LabeledExample[][] {
  return labels.map((l) => examples.filter((e) => e.label === l));
}

/** Downsamples every class to the size of the smallest (seeded); labels absent from the data are an error. */
export function balanceByDownsampling(
  examples: readonly LabeledExample[],
  labels: readonly string[],
  seed: number,
): LabeledExample[] {
  const groups = byLabel(examples, labels);
  const empty = labels.find((_, i) => groups[i].length === 0);
  if (empty !== undefined)
    throw new DataError(`no example has the label "${empty}"`, 'balancing needs every class');
  const size = Math.min(...groups.map((g) => g.length));
  const rng = new Rng(seed);
  return groups.flatMap((g) => rng.shuffle([...g]).slice(0, size));
}

/** At most `max` examples, each class keeping its share (seeded). */
export function limitExamples(
  examples: readonly LabeledExample[],
  labels: readonly string[],
  max: number,
  seed: number,
): LabeledExample[] {
  if (examples.length <= max) return [...examples];
  const rng = new Rng(seed);
  return byLabel(examples, labels).flatMap((g) =>
    rng.shuffle([...g]).slice(0, Math.max(1, Math.round((g.length * max) / examples.length))),
  );
}

/**
 * A seeded split that keeps each class's share in every split: per class, the first
 * floor(n·train) shuffled examples train, the next floor(n·validation) validate, the rest test
 * (the book's `random_split` rule). Each split is then shuffled.
 */
export function stratifiedSplit(
  examples: readonly LabeledExample[],
  labels: readonly string[],
  fractions: { train: number; validation: number },
  seed: number,
): Splits<LabeledExample[]> {
  const { train, validation } = fractions;
  if (!(train > 0 && validation >= 0 && train + validation <= 1)) {
    throw new DataError(
      `split fractions train ${train} and validation ${validation} must be positive and sum to at most 1`,
    );
  }
  const rng = new Rng(seed);
  const splits: Splits<LabeledExample[]> = { train: [], validation: [], test: [] };
  for (const group of byLabel(examples, labels)) {
    const shuffled = rng.shuffle([...group]);
    const trainEnd = Math.floor(shuffled.length * train);
    const valEnd = trainEnd + Math.floor(shuffled.length * validation);
    splits.train.push(...shuffled.slice(0, trainEnd));
    splits.validation.push(...shuffled.slice(trainEnd, valEnd));
    splits.test.push(...shuffled.slice(valEnd));
  }
  if (splits.train.length === 0) {
    throw new DataError(`${examples.length} examples leave no training examples`, 'use more data');
  }
  for (const name of SPLIT_NAMES) rng.shuffle(splits[name]);
  return splits;
}

/** Token ids of examples, truncated, with their class indices. */
export interface EncodedSplit {
  /** Token ids per example, at most the dataset's maxLength long (not padded). */
  tokens: number[][];
  /** Class index per example. */
  labels: number[];
}

/**
 * GPT-2 tokens of a text, at most `limit` of them. Long texts (emails) are encoded from a prefix:
 * pieces wholly before the cut tokenize as in the full text, so when the prefix yields well over
 * `limit` tokens its first `limit` are exact; otherwise the whole text is encoded.
 */
export function encodeTruncated(tokenizer: Tokenizer, text: string, limit: number): number[] {
  const prefixChars = limit * 16;
  if (text.length > prefixChars) {
    const ids = tokenizer.encode(text.slice(0, prefixChars));
    if (ids.length > limit + 16) return ids.slice(0, limit);
  }
  return tokenizer.encode(text).slice(0, limit);
}

/**
 * Encodes the splits. The maximum length is `maxLength` when given, else the longest training
 * example; never more than `contextLength`.
 */
export function encodeSplits(
  splits: Splits<LabeledExample[]>,
  labels: readonly string[],
  tokenizer: Tokenizer,
  options: { maxLength?: number; contextLength: number },
): { splits: Splits<EncodedSplit>; maxLength: number } {
  const cap = Math.min(options.maxLength ?? Infinity, options.contextLength);
  const encode = (examples: LabeledExample[]): EncodedSplit => ({
    tokens: examples.map((e) => encodeTruncated(tokenizer, e.text, cap)),
    labels: examples.map((e) => labels.indexOf(e.label)),
  });
  const train = encode(splits.train);
  const maxLength = options.maxLength !== undefined ? cap : Math.max(...train.tokens.map((t) => t.length));
  const clip = (s: EncodedSplit): EncodedSplit => ({
    ...s,
    tokens: s.tokens.map((t) => t.slice(0, maxLength)),
  });
  return {
    splits: {
      train: clip(train),
      validation: clip(encode(splits.validation)),
      test: clip(encode(splits.test)),
    },
    maxLength,
  };
}

/** One batch padded to the dataset's length: ids [B·T] row-major, real lengths and classes. */
export interface ClassificationBatch {
  ids: Int32Array;
  /** Tokens before the padding, per row. */
  lengths: Int32Array;
  labels: Int32Array;
  batchSize: number;
  length: number;
}

/** Pads token lists to `length` with `padId` (50256, GPT-2's `<|endoftext|>`, as the book). */
export function padBatch(
  tokens: readonly number[][],
  labels: readonly number[],
  length: number,
  padId = END_OF_TEXT_ID,
): ClassificationBatch {
  const ids = new Int32Array(tokens.length * length).fill(padId);
  tokens.forEach((t, row) => ids.set(t.slice(0, length), row * length));
  return {
    ids,
    lengths: Int32Array.from(tokens, (t) => Math.min(t.length, length)),
    labels: Int32Array.from(labels),
    batchSize: tokens.length,
    length,
  };
}

/** The batches of a split in order (or in a seeded shuffle), the last one possibly smaller. */
export function splitBatches(
  split: EncodedSplit,
  batchSize: number,
  length: number,
  shuffleSeed?: number,
): ClassificationBatch[] {
  const order = split.tokens.map((_, i) => i);
  if (shuffleSeed !== undefined) new Rng(shuffleSeed).shuffle(order);
  const batches: ClassificationBatch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    batches.push(
      padBatch(
        rows.map((i) => split.tokens[i]),
        rows.map((i) => split.labels[i]),
        length,
      ),
    );
  }
  return batches;
}
