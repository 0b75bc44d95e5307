/**
 * Which windows make up each global batch — index arithmetic only, no I/O.
 *
 * A window is T + 1 consecutive tokens of the train stream (inputs = the first T, targets = the last
 * T), starting at k·S for every k with k·S + T < n: exactly `slidingWindows` of `@llm-forge/gpt`
 * over the same ids. Windows may cross shard boundaries (the stream is read across shards), so the
 * windows do not depend on the shard size.
 *
 * Epoch e visits the windows in the order `new Rng(deriveSeed(seed, e)).shuffle([0, 1, …, W-1])`
 * (identity without shuffle), and step s of the epoch takes positions [s·B, (s+1)·B) of it, dropping
 * the last partial batch. So the global batch of a step is a function of (seed, epoch, step) alone:
 * the one training order of every run, in one process or on N workers.
 *
 * T = context length, S = stride, B = global batch size, n = train tokens, W = windows.
 */
import { DataError, deriveSeed, Rng } from '@llm-forge/gpt';
import { rankSlice } from './rank-slice';

/** Options of a {@link WindowSampler}. */
export interface WindowSamplerOptions {
  /** T: tokens of input per window. */
  contextLength: number;
  /** S: distance between window starts. @defaultValue contextLength (no overlap) */
  stride?: number;
  /** B: windows per global batch (over all ranks together). */
  batchSize: number;
  /** Visit windows in a new seeded order each epoch. @defaultValue true */
  shuffle?: boolean;
  /** Seed of the order; epoch e uses `deriveSeed(seed, e)`. @defaultValue 0 */
  seed?: number;
}

function positiveInteger(field: string, flag: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new DataError(`${field} must be a positive integer, got ${String(value)}`, `check ${flag}`);
  }
  return value;
}

/** Number of windows of T + 1 tokens at stride S in n tokens: ceil((n - T) / S), 0 when n <= T. */
export function countWindows(tokens: number, contextLength: number, stride: number): number {
  return tokens > contextLength ? Math.ceil((tokens - contextLength) / stride) : 0;
}

/** The deterministic window order of a train stream. */
export class WindowSampler {
  /** T. */
  readonly contextLength: number;
  /** S. */
  readonly stride: number;
  /** B. */
  readonly batchSize: number;
  /** Whether epochs are shuffled. */
  readonly shuffle: boolean;
  /** The seed. */
  readonly seed: number;
  /** W: windows in the stream. */
  readonly windowCount: number;
  /** floor(W / B): global batches per epoch. */
  readonly stepsPerEpoch: number;
  private orderEpoch = -1;
  private order = new Int32Array(0);

  /** A sampler over a stream of `tokens` tokens; throws a DataError when not one global batch fits. */
  constructor(
    /** n: tokens of the stream. */
    readonly tokens: number,
    options: WindowSamplerOptions,
  ) {
    this.contextLength = positiveInteger('contextLength', '--context-length', options.contextLength);
    this.stride = positiveInteger('stride', '--stride', options.stride ?? options.contextLength);
    this.batchSize = positiveInteger('batchSize', '--batch-size', options.batchSize);
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed))
      throw new DataError(`seed must be an integer, got ${String(this.seed)}`, 'check --seed');
    this.windowCount = countWindows(tokens, this.contextLength, this.stride);
    if (this.windowCount > 0x7fffffff) {
      throw new DataError(
        `${this.windowCount} windows are more than one epoch order can index`,
        'raise --stride',
      );
    }
    this.stepsPerEpoch = Math.floor(this.windowCount / this.batchSize);
    if (this.stepsPerEpoch === 0) {
      throw new DataError(
        `${tokens} train tokens give ${this.windowCount} windows of ${this.contextLength} tokens, fewer than one batch of ${this.batchSize}`,
        'use a smaller --batch-size, --context-length or --stride, or more data',
      );
    }
  }

  /** Offset in the stream of window k's first token (k·S). */
  windowStart(k: number): number {
    return k * this.stride;
  }

  /** The window order of an epoch: a permutation of [0, W), the identity without shuffle. Cached for the last epoch asked. */
  epochOrder(epoch: number): Int32Array {
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new DataError(`epoch must be an integer >= 0, got ${String(epoch)}`);
    if (this.orderEpoch !== epoch) {
      const order = Int32Array.from({ length: this.windowCount }, (_, i) => i);
      if (this.shuffle) new Rng(deriveSeed(this.seed, epoch)).shuffle(order);
      this.order = order;
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** Window indices of the global batch of (epoch, step): B of them, a view; do not write to it. */
  globalBatch(epoch: number, step: number): Int32Array {
    if (!Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch) {
      throw new DataError(`step must be an integer in [0, ${this.stepsPerEpoch}), got ${String(step)}`);
    }
    const first = step * this.batchSize;
    return this.epochOrder(epoch).subarray(first, first + this.batchSize);
  }

  /** Window indices that rank `rank` of `worldSize` takes at (epoch, step): its slice of the global batch (see `rankSlice`). */
  rankBatch(epoch: number, step: number, rank: number, worldSize: number): Int32Array {
    const { start, count } = rankSlice(this.batchSize, rank, worldSize);
    return this.globalBatch(epoch, step).subarray(start, start + count);
  }
}
