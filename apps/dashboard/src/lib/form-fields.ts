/** Parsing of form inputs (always strings) into numbers, with messages that name the field. */

/** The outcome of validating a form: the request body, or a message per field. */
export type FormResult<T> = { ok: true; value: T } | { ok: false; errors: Record<string, string> };

/** Collects field errors while a form is parsed. */
export class FieldErrors {
  readonly errors: Record<string, string> = {};

  /** An integer in [min, max]; records an error and returns undefined otherwise. Blank → `fallback`. */
  int(
    field: string,
    raw: string,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
    fallback?: number,
  ): number | undefined {
    const n = this.number(field, raw, fallback);
    if (n === undefined) return undefined;
    if (!Number.isInteger(n)) return this.fail(field, `${field} must be a whole number, got ${raw.trim()}`);
    if (n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
      return this.fail(field, `${field} must be ${range}, got ${n}`);
    }
    return n;
  }

  /** A positive finite number; blank → `fallback` (or an error when there is none). */
  positive(field: string, raw: string, fallback?: number): number | undefined {
    const n = this.number(field, raw, fallback);
    if (n === undefined) return undefined;
    if (!(n > 0)) return this.fail(field, `${field} must be greater than 0, got ${n}`);
    return n;
  }

  /** A number in [0, 1) (a momentum); blank → `fallback` (or an error when there is none). */
  fraction(field: string, raw: string, fallback?: number): number | undefined {
    const n = this.number(field, raw, fallback);
    if (n === undefined) return undefined;
    if (n >= 0 && n < 1) return n;
    return this.fail(field, `${field} must be at least 0 and below 1, got ${n}`);
  }

  /** A finite number ≥ 0 (a temperature); blank → undefined without an error. */
  number0(field: string, raw: string): number | undefined {
    if (raw.trim() === '') return undefined;
    const n = this.number(field, raw, undefined);
    if (n === undefined) return undefined;
    return n < 0 ? this.fail(field, `${field} must be 0 or more, got ${n}`) : n;
  }

  /** A non-empty trimmed string; records `message` when blank. */
  required(field: string, raw: string, message: string): string | undefined {
    const s = raw.trim();
    return s === '' ? this.fail(field, message) : s;
  }

  /** Records an error for `field`. */
  fail(field: string, message: string): undefined {
    this.errors[field] ??= message;
    return undefined;
  }

  /** Whether any field failed. */
  get any(): boolean {
    return Object.keys(this.errors).length > 0;
  }

  private number(field: string, raw: string, fallback: number | undefined): number | undefined {
    const s = raw.trim();
    if (s === '') return fallback ?? this.fail(field, `${field} is required`);
    const n = Number(s);
    return Number.isFinite(n) ? n : this.fail(field, `${field} must be a number, got ${JSON.stringify(s)}`);
  }
}
