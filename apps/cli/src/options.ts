/** Parsers for numeric flags: each rejects nonsense with a message naming what was expected. */
import { InvalidArgumentError } from 'commander';

function parseNumber(
  value: string,
  expectation: string,
  ok: (n: number) => boolean,
  integer: boolean,
): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || !ok(n)) {
    throw new InvalidArgumentError(`expected ${expectation}.`);
  }
  return n;
}

/** An integer >= 1. */
export const positiveInt = (v: string): number => parseNumber(v, 'an integer >= 1', (n) => n >= 1, true);
/**
 * An integer in [1, max]: the bounded settings of training (steps, batch, context), whose limits are
 * the cluster's (SPEC_LIMITS of @llm-forge/cluster-protocol), so `forge train` refuses what
 * `forge submit` would be refused.
 */
export const boundedInt =
  (max: number) =>
  (v: string): number =>
    parseNumber(v, `an integer in [1, ${max}]`, (n) => n >= 1 && n <= max, true);
/** An integer >= 0. */
export const nonNegativeInt = (v: string): number => parseNumber(v, 'an integer >= 0', (n) => n >= 0, true);
/** Any integer (seeds). */
export const integer = (v: string): number => parseNumber(v, 'an integer', () => true, true);
/** A number > 0. */
export const positiveNumber = (v: string): number => parseNumber(v, 'a number > 0', (n) => n > 0, false);
/** A number >= 0. */
export const nonNegativeNumber = (v: string): number => parseNumber(v, 'a number >= 0', (n) => n >= 0, false);
/** A fraction in [0, 1). */
export const fraction = (v: string): number =>
  parseNumber(v, 'a number in [0, 1)', (n) => n >= 0 && n < 1, false);
/** A probability in (0, 1]. */
export const probability = (v: string): number =>
  parseNumber(v, 'a number in (0, 1]', (n) => n > 0 && n <= 1, false);
