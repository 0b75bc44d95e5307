/**
 * How a global batch of B windows is split over N data-parallel ranks: contiguous slices, the first
 * B mod N ranks taking ceil(B/N) rows and the others floor(B/N). Rank r starts at row
 * r·floor(B/N) + min(r, B mod N). The slices partition [0, B) in rank order, so their union — in
 * rank order, their concatenation — is the global batch exactly, for any N <= B.
 *
 * With unequal slices, average gradients weighted by rows (sum of per-row losses / B), so the
 * update equals the single-process one.
 */
import { DataError } from '@llm-forge/gpt';

/** Rows [start, start + count) of the global batch. */
export interface RankSlice {
  /** First row. */
  start: number;
  /** Rows: ceil(B/N) or floor(B/N). */
  count: number;
}

/** The rows of the global batch that rank `rank` of `worldSize` takes. */
export function rankSlice(globalBatchSize: number, rank: number, worldSize: number): RankSlice {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new DataError(`worldSize must be an integer >= 1, got ${String(worldSize)}`);
  }
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new DataError(`rank must be an integer in [0, ${worldSize}), got ${String(rank)}`);
  }
  if (!Number.isInteger(globalBatchSize) || globalBatchSize < worldSize) {
    throw new DataError(
      `the global batch size (${String(globalBatchSize)}) must be an integer >= the number of ranks (${worldSize})`,
      'every rank needs at least one window per step: raise --batch-size or use fewer workers',
    );
  }
  const base = Math.floor(globalBatchSize / worldSize);
  const extra = globalBatchSize % worldSize;
  return { start: rank * base + Math.min(rank, extra), count: base + (rank < extra ? 1 : 0) };
}
