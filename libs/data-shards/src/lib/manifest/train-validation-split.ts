/**
 * The train/validation split of a prepared token stream, by tail tokens: the validation set is the
 * last part of the stream, like `forge train`'s split of a text (the book's
 * `split_idx = int(train_ratio * len(text))`, counted in tokens instead of characters).
 *
 * Deterministic, independent of the shard size, and decided after tokenizing, so a dataset can be
 * re-split with another --val-fraction without touching the shards.
 */
import { DataError } from '@llm-forge/gpt';

/** A half-open range [start, end) of the token stream. */
export interface TokenRange {
  /** First token. */
  start: number;
  /** One past the last token. */
  end: number;
  /** end - start. */
  tokens: number;
}

/** Where the stream splits. */
export interface StreamSplit {
  /** Always `tail-tokens`: validation is the last tokens of the stream. */
  method: 'tail-tokens';
  /** The fraction asked for. */
  val_fraction: number;
  /** [0, floor((1 - f)·n)). */
  train: TokenRange;
  /** The rest, [floor((1 - f)·n), n); empty when f is 0. */
  validation: TokenRange;
}

/** Checks that a validation fraction is a number in [0, 1); names the flag otherwise. */
export function checkValFraction(valFraction: number): void {
  if (!(typeof valFraction === 'number' && valFraction >= 0 && valFraction < 1)) {
    throw new DataError(
      `valFraction must be a number in [0, 1), got ${String(valFraction)}`,
      'check --val-fraction',
    );
  }
}

/** Splits a stream of `totalTokens` tokens: train = the first floor((1 - f)·n), validation = the rest. */
export function splitTokenStream(totalTokens: number, valFraction: number): StreamSplit {
  checkValFraction(valFraction);
  const trainEnd = valFraction === 0 ? totalTokens : Math.floor((1 - valFraction) * totalTokens);
  return {
    method: 'tail-tokens',
    val_fraction: valFraction,
    train: { start: 0, end: trainEnd, tokens: trainEnd },
    validation: { start: trainEnd, end: totalTokens, tokens: totalTokens - trainEnd },
  };
}
