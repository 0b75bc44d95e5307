/**
 * Next-token windows over one token stream, the book's `GPTDatasetV1`: window k has inputs
 * ids[i : i+T] and targets ids[i+1 : i+T+1] with i = k·S, for every i with i + T < n.
 * Stored compactly as one Int32Array of ids plus start offsets (no per-window copies).
 *
 * T = context length, S = stride, n = number of tokens.
 */
import { DataError } from './data-error';

/** Every training window of a token stream, as start offsets into one shared id array. */
export interface TokenWindows {
  /** All token ids (n). */
  readonly ids: Int32Array;
  /** Start offset of each window's inputs (number of windows). */
  readonly starts: Int32Array;
  /** T: tokens per window. */
  readonly contextLength: number;
  /** S: distance between consecutive window starts. */
  readonly stride: number;
}

function requirePositiveInteger(field: string, value: number, flag: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new DataError(`${field} must be a positive integer, got ${String(value)}`, `check ${flag}`);
  }
}

/**
 * Cuts a token stream into next-token windows exactly like the book's
 * `for i in range(0, len(ids) - T, stride)`. Throws a DataError when the stream is too short for
 * one window (it needs T + 1 tokens).
 */
export function slidingWindows(ids: ArrayLike<number>, contextLength: number, stride: number): TokenWindows {
  requirePositiveInteger('contextLength', contextLength, '--context-length');
  requirePositiveInteger('stride', stride, '--stride');
  const n = ids.length;
  if (n <= contextLength) {
    throw new DataError(
      `text is too short: it has ${n} tokens, one window of context length ${contextLength} needs ${contextLength + 1}`,
      n >= 2 ? `pass a smaller --context-length (at most ${n - 1}) or a longer text` : 'use a longer text',
    );
  }
  const tokens = ids instanceof Int32Array ? ids : Int32Array.from(ids);
  const count = Math.ceil((n - contextLength) / stride); // # of i in [0, n - T) stepping by S
  const starts = new Int32Array(count);
  for (let k = 0; k < count; k++) starts[k] = k * stride;
  return { ids: tokens, starts, contextLength, stride };
}

/** Number of windows. */
export function windowCount(windows: TokenWindows): number {
  return windows.starts.length;
}

/** Inputs of window k, a view (T) into the shared ids; do not write to it. */
export function windowInputs(windows: TokenWindows, k: number): Int32Array {
  const i = windows.starts[k];
  return windows.ids.subarray(i, i + windows.contextLength);
}

/** Targets of window k (inputs shifted by one), a view (T) into the shared ids; do not write to it. */
export function windowTargets(windows: TokenWindows, k: number): Int32Array {
  const i = windows.starts[k] + 1;
  return windows.ids.subarray(i, i + windows.contextLength);
}
