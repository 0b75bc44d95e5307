/**
 * Batches of next-token windows, the book's `DataLoader(dataset, batch_size, shuffle, drop_last)`,
 * made resumable: the loader's position (epoch, batch index) is plain data, and restoring it gives
 * exactly the batches a run would have seen, because each epoch's order is a pure function of
 * (seed, epoch).
 *
 * B = batch size, T = context length.
 */
import { deriveSeed, Rng } from '../util/rng';
import { DataError } from './data-error';
import { type TokenWindows, windowCount } from './sliding-windows';

/** One batch: row b holds window inputs / targets, row-major (B, T). */
export interface Batch {
  /** Input ids, (B, T) row-major. */
  inputs: Int32Array;
  /** Target ids (inputs shifted by one), (B, T) row-major. */
  targets: Int32Array;
  /** B: rows in this batch (smaller than the loader's batch size only for a kept last batch). */
  batchSize: number;
  /** T. */
  contextLength: number;
}

/** Where a loader is: the batch that {@link BatchLoader.next} returns next. Plain JSON. */
export interface LoaderPosition {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based batch index within the epoch, in [0, batchesPerEpoch). */
  batchIndex: number;
}

/** Options of a {@link BatchLoader}. */
export interface BatchLoaderOptions {
  /** B: windows per batch. */
  batchSize: number;
  /** Visit windows in a new seeded random order each epoch. @defaultValue false */
  shuffle?: boolean;
  /** Seed of the shuffle; epoch e uses the order drawn from `deriveSeed(seed, e)`. @defaultValue 0 */
  seed?: number;
  /** Drop the last batch of an epoch when it is not full (the book: true for training). @defaultValue true */
  dropLast?: boolean;
}

/** Deterministic, resumable batches over {@link TokenWindows}. */
export class BatchLoader {
  /** Number of batches in every epoch. */
  readonly batchesPerEpoch: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  private epoch = 0;
  private batchIndex = 0;
  private orderEpoch = -1;
  private order: Int32Array = new Int32Array(0);

  /** Creates a loader at epoch 0, batch 0. Throws a DataError when not even one batch can be made. */
  constructor(
    readonly windows: TokenWindows,
    options: BatchLoaderOptions,
  ) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new DataError(
        `batchSize must be a positive integer, got ${String(batchSize)}`,
        'check --batch-size',
      );
    }
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed)) {
      throw new DataError(`seed must be an integer, got ${String(this.seed)}`, 'check --seed');
    }
    this.dropLast = options.dropLast ?? true;
    const n = windowCount(windows);
    this.batchesPerEpoch = this.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new DataError(
        `the text gives ${n} windows of ${windows.contextLength} tokens, fewer than one batch of ${batchSize}`,
        `pass a smaller --batch-size (at most ${n}), a smaller --context-length or --stride, or a longer text`,
      );
    }
  }

  /** The position of the next batch, for checkpoints. */
  position(): LoaderPosition {
    return { epoch: this.epoch, batchIndex: this.batchIndex };
  }

  /** Moves to a saved position; the following batches are exactly those that followed it. */
  seek(position: LoaderPosition): void {
    const { epoch, batchIndex } = position;
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new DataError(`loader position epoch must be a non-negative integer, got ${String(epoch)}`);
    }
    if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= this.batchesPerEpoch) {
      throw new DataError(
        `loader position batchIndex must be an integer in [0, ${this.batchesPerEpoch}), got ${String(batchIndex)}`,
        'the checkpoint was made with other data, --batch-size, --context-length or --stride',
      );
    }
    this.epoch = epoch;
    this.batchIndex = batchIndex;
  }

  /** Returns the batch at the current position and advances (into the next epoch after the last). */
  next(): Batch {
    const batch = this.batchAt(this.epoch, this.batchIndex);
    this.batchIndex++;
    if (this.batchIndex === this.batchesPerEpoch) {
      this.batchIndex = 0;
      this.epoch++;
    }
    return batch;
  }

  /**
   * Iterates the rest of the current epoch (all of it when at batch 0), leaving the loader at the
   * start of the next epoch.
   */
  *restOfEpoch(): IterableIterator<Batch> {
    const epoch = this.epoch;
    while (this.epoch === epoch) yield this.next();
  }

  /** The window order of an epoch (a permutation of window indices, identity without shuffle). */
  epochOrder(epoch: number): Int32Array {
    if (this.orderEpoch !== epoch) {
      const n = windowCount(this.windows);
      const order = Int32Array.from({ length: n }, (_, i) => i);
      if (this.shuffle) new Rng(deriveSeed(this.seed, epoch)).shuffle(order);
      this.order = order;
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The batch at a position, without moving. */
  batchAt(epoch: number, batchIndex: number): Batch {
    if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= this.batchesPerEpoch) {
      throw new DataError(
        `batchIndex must be an integer in [0, ${this.batchesPerEpoch}), got ${String(batchIndex)}`,
      );
    }
    const order = this.epochOrder(epoch);
    const T = this.windows.contextLength;
    const first = batchIndex * this.batchSize;
    const B = Math.min(this.batchSize, order.length - first);
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const { ids, starts } = this.windows;
    for (let b = 0; b < B; b++) {
      const i = starts[order[first + b]];
      inputs.set(ids.subarray(i, i + T), b * T); // row b of (B, T)
      targets.set(ids.subarray(i + 1, i + 1 + T), b * T);
    }
    return { inputs, targets, batchSize: B, contextLength: T };
  }
}
