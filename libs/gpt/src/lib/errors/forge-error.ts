/**
 * A user-facing error from the library: what went wrong and, where known, what to do about it.
 * The CLI prints `message` (and `hint`) on one line and exits non-zero; libraries never exit.
 */
export class ForgeError extends Error {
  constructor(
    message: string,
    /** A short suggestion of what to do, e.g. "pass --context-length 32 or a longer text". */
    readonly hint?: string,
  ) {
    super(hint ? `${message} (${hint})` : message);
    this.name = 'ForgeError';
  }
}

/** A configuration value that is out of range or of the wrong kind; names the field and value. */
export class ConfigError extends ForgeError {
  constructor(field: string, value: unknown, expectation: string) {
    super(`${field} must be ${expectation}, got ${JSON.stringify(value)}`);
    this.name = 'ConfigError';
  }
}

/** A checkpoint or tensor file that is missing, truncated, corrupt or of a foreign format. */
export class CheckpointError extends ForgeError {
  constructor(
    readonly file: string,
    problem: string,
    hint?: string,
  ) {
    super(`${file}: ${problem}`, hint);
    this.name = 'CheckpointError';
  }
}

/**
 * Training produced a loss or gradient that is not a finite number (NaN or ±Infinity), usually from
 * a learning rate far too high; raised before the update, so the parameters stay those of the step
 * before. Every data-parallel rank sees the same reduced numbers, so every rank raises it alike.
 */
export class TrainingDivergedError extends ForgeError {
  constructor(
    /** 0-based index of the step that diverged. */
    readonly step: number,
    /** Which number: `loss` or `gradient norm`. */
    readonly quantity: 'loss' | 'gradient norm',
    readonly value: number,
  ) {
    super(
      `training diverged at step ${step}: the ${quantity} is ${String(value)}`,
      'lower the learning rate, keep gradient clipping on, or resume from an earlier checkpoint',
    );
    this.name = 'TrainingDivergedError';
  }
}
