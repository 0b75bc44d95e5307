/**
 * Next-token windows gathered into batches in text order, the book's evaluation loader
 * (`DataLoader(dataset, batch_size, shuffle=False, drop_last=True)` under `calc_loss_loader`). The
 * training order — seeded shuffles per epoch, each rank's slice of every global batch — is
 * `DistributedBatchLoader` of libs/data-shards, the one order every run trains in.
 *
 * B = batch size, T = context length.
 */
import { DataError } from './data-error';
import { type TokenWindows, windowCount } from './sliding-windows';

/** One batch: row b holds window inputs / targets, row-major (B, T). */
export interface Batch {
  /** Input ids, (B, T) row-major. */
  inputs: Int32Array;
  /** Target ids (inputs shifted by one), (B, T) row-major. */
  targets: Int32Array;
  /** B: rows in this batch. */
  batchSize: number;
  /** T. */
  contextLength: number;
}

/**
 * The windows in order, `batchSize` per batch, the last partial batch dropped. Throws a DataError
 * naming the flags to change when not even one batch can be made.
 */
export function windowBatches(windows: TokenWindows, batchSize: number): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new DataError(
      `batchSize must be a positive integer, got ${String(batchSize)}`,
      'check --batch-size',
    );
  }
  const n = windowCount(windows);
  const count = Math.floor(n / batchSize);
  if (count === 0) {
    throw new DataError(
      `the text gives ${n} windows of ${windows.contextLength} tokens, fewer than one batch of ${batchSize}`,
      `pass a smaller --batch-size (at most ${n}), a smaller --context-length or --stride, or a longer text`,
    );
  }
  const T = windows.contextLength;
  const { ids, starts } = windows;
  return Array.from({ length: count }, (_, k) => {
    const inputs = new Int32Array(batchSize * T);
    const targets = new Int32Array(batchSize * T);
    for (let b = 0; b < batchSize; b++) {
      const i = starts[k * batchSize + b];
      inputs.set(ids.subarray(i, i + T), b * T); // row b of (B, T)
      targets.set(ids.subarray(i + 1, i + 1 + T), b * T);
    }
    return { inputs, targets, batchSize, contextLength: T };
  });
}
