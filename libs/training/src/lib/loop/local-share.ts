/**
 * A rank's part of one optimizer step: what it computes gradients of and how much of the global
 * batch's loss that stands for.
 *
 * B = global batch size, b_r = rows of rank r, T = context length.
 */
import type { Batch, LossFunction } from '@llm-forge/gpt';

/** What rank r contributes to one optimizer step. */
export interface LocalShare {
  /**
   * The rank's micro-batches (next-token loss of the trainer's GPT) or a loss function; absent when
   * the rank has nothing this step (no rows, every target ignored): it then contributes zeros.
   */
  work?: readonly Batch[] | LossFunction;
  /** Calls of a loss-function `work` per step (gradient accumulation). @defaultValue 1 */
  microBatches?: number;
  /**
   * Share of the global mean loss that this rank's mean stands for: b_r / B for rows of equal
   * weight, the rank's share of the target tokens for masked losses. Shares sum to 1 over ranks.
   */
  weight: number;
  /** Tokens of the whole global batch (padding included), for tokens per second. */
  tokens: number;
  /** Tokens of this rank's share, where the driver counts them. */
  localTokens?: number;
}

/**
 * The share of rank r that holds `slice` (b_r rows, given whole or as micro-batches whose rows all
 * weigh the same) of a global batch of `globalBatchSize` rows: weight b_r / B.
 */
export function rowShare(slice: Batch | readonly Batch[], globalBatchSize: number): LocalShare {
  const micro: readonly Batch[] = Array.isArray(slice) ? slice : [slice as Batch];
  const rows = micro.reduce((n, m) => n + m.batchSize, 0);
  if (!Number.isInteger(rows) || rows < 1 || rows > globalBatchSize) {
    throw new RangeError(
      `the slice must have 1 to ${globalBatchSize} rows (the global batch), got ${String(rows)}`,
    );
  }
  const T = micro[0].contextLength;
  return { work: micro, weight: rows / globalBatchSize, tokens: globalBatchSize * T, localTokens: rows * T };
}
