/**
 * The JSON summary that `forge train --json` and `forge submit pretrain --wait --json` (and `forge
 * cluster up --submit --wait --json`) end with: one definition of each reported number, so a run in
 * one process and the same run on a cluster print the same line.
 */

/** What a pretraining run reports at its end. */
export interface TrainingSummaryInput {
  /** Global loss of every step, in order. */
  stepLosses: readonly number[];
  /** Tokens per second of every step. */
  tokensPerSecond: readonly number[];
  /** The last evaluation (train and validation loss over the first evalBatches batches). */
  lastEval?: { trainLoss: number; valLoss?: number };
  /** Greedy sample of the last evaluation. */
  sample?: string;
}

/**
 * The shared fields: `step_losses`, `final_train_loss` and `final_val_loss` (of the last evaluation,
 * null without one), `tokens_per_second` (median over the steps after the first, whose time includes
 * warm-up; null without steps) and `sample`.
 */
export function trainingSummary(run: TrainingSummaryInput): Record<string, unknown> {
  return {
    step_losses: [...run.stepLosses],
    final_train_loss: run.lastEval?.trainLoss ?? null,
    final_val_loss: run.lastEval?.valLoss ?? null,
    tokens_per_second: median(run.tokensPerSecond.length > 1 ? run.tokensPerSecond.slice(1) : run.tokensPerSecond),
    sample: run.sample ?? null,
  };
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
