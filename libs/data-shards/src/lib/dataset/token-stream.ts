/** A random-access sequence of token ids: the train or validation part of a dataset, or an array. */

/** Tokens that can be read by range. */
export interface TokenStream {
  /** Number of tokens. */
  readonly length: number;
  /**
   * Copies tokens [start, start + count) into `into` from `offset` on. Throws a RangeError for a
   * range outside the stream.
   */
  read(start: number, count: number, into: Uint16Array | Int32Array, offset?: number): void;
}

/** Checks a read range against a stream length; throws a RangeError naming the range. */
export function checkRange(
  start: number,
  count: number,
  length: number,
  intoLength: number,
  offset: number,
): void {
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(count) ||
    start < 0 ||
    count < 0 ||
    start + count > length
  ) {
    throw new RangeError(`token range [${start}, ${start + count}) is outside a stream of ${length} tokens`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + count > intoLength) {
    throw new RangeError(`reading ${count} tokens at offset ${offset} overflows an array of ${intoLength}`);
  }
}

/** A {@link TokenStream} over ids in memory (tests, and the same sampling over `forge train`'s ids). */
export class ArrayTokenStream implements TokenStream {
  constructor(private readonly ids: Uint16Array | Int32Array | readonly number[]) {}

  get length(): number {
    return this.ids.length;
  }

  read(start: number, count: number, into: Uint16Array | Int32Array, offset = 0): void {
    checkRange(start, count, this.length, into.length, offset);
    for (let i = 0; i < count; i++) into[offset + i] = this.ids[start + i];
  }
}
