/**
 * Where a training run is in its data: plain JSON for checkpoints. The batch of a position is a
 * function of (seed, epoch, step) alone — not of the number of workers — so a run resumed with
 * another world size continues with exactly the data it would have seen.
 */
import { DataError } from '@llm-forge/gpt';

/** The position of the next global batch. */
export interface DataPosition {
  /** Seed of the window permutation (the same for every epoch; each epoch derives its own order). */
  seed: number;
  /** 0-based epoch. */
  epoch: number;
  /** 0-based step within the epoch, in [0, stepsPerEpoch). */
  step: number;
}

/**
 * Checks a position (e.g. read from a checkpoint) against a sampler's seed and steps per epoch;
 * throws a DataError naming the field, the value and the likely cause.
 */
export function checkDataPosition(position: DataPosition, seed: number, stepsPerEpoch: number): DataPosition {
  if (position === null || typeof position !== 'object') {
    throw new DataError(
      `data position must be an object {seed, epoch, step}, got ${JSON.stringify(position)}`,
    );
  }
  const { epoch, step } = position;
  if (position.seed !== seed) {
    throw new DataError(
      `data position seed ${JSON.stringify(position.seed)} differs from the sampler's seed ${seed}`,
      'resume with the seed the checkpoint was trained with',
    );
  }
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new DataError(`data position epoch must be an integer >= 0, got ${JSON.stringify(epoch)}`);
  }
  if (!Number.isInteger(step) || step < 0 || step >= stepsPerEpoch) {
    throw new DataError(
      `data position step must be an integer in [0, ${stepsPerEpoch}), got ${JSON.stringify(step)}`,
      'the checkpoint was made with another dataset, batch size, context length or stride',
    );
  }
  return { seed, epoch, step };
}
