/**
 * A small seeded pseudo-random generator, xoshiro128** (Blackman & Vigna), with a state that
 * serializes to JSON, so a resumed run continues the exact random stream it left.
 *
 * Used for shuffling batches (Fisher–Yates), and as the source of seeds for sampling and dropout.
 */

// Bound once: inside Jest's sandbox every `Math.*` property read is ~30x slower, and drawing a
// model's initial weights makes millions of them.
const { imul, floor } = Math;

/** The JSON-serializable state of an {@link Rng}. */
export interface RngState {
  /** Always `xoshiro128**`; checked on restore. */
  algorithm: 'xoshiro128**';
  /** The four 32-bit state words, as unsigned integers. */
  s: [number, number, number, number];
}

/** splitmix32: expands one 32-bit seed word into a well-mixed stream (used only for seeding). */
function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) >>> 0;
  let z = state.x;
  z = imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function checkSeed(seed: number, what: string): void {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`${what} must be a safe integer, got ${String(seed)}`);
  }
}

/**
 * Derives a new 32-bit seed from a base seed and a list of integers, e.g. `(seed, epoch)`.
 * Different inputs give unrelated streams; the same inputs always give the same seed.
 */
export function deriveSeed(seed: number, ...values: number[]): number {
  checkSeed(seed, 'seed');
  const st = { x: (seed >>> 0) ^ imul(floor(seed / 2 ** 32) >>> 0, 0x27d4eb2f) };
  let h = splitmix32(st);
  for (const v of values) {
    checkSeed(v, 'value');
    st.x = (h ^ (v >>> 0) ^ imul(floor(v / 2 ** 32) >>> 0, 0x165667b1)) >>> 0;
    h = splitmix32(st);
  }
  return h;
}

/** A seeded xoshiro128** generator. Same seed, same stream, on every platform. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * Creates a generator from a seed (any safe integer; negative and > 2^32 values are mixed in whole).
   */
  constructor(seed: number) {
    const st = { x: deriveSeed(seed) };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    // xoshiro must not start from the all-zero state; splitmix32 makes that practically impossible.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Restores a generator from {@link Rng.state}; throws a RangeError naming the bad field. */
  static fromState(state: RngState): Rng {
    if (state === null || typeof state !== 'object' || state.algorithm !== 'xoshiro128**') {
      throw new RangeError(`rng state must have algorithm "xoshiro128**", got ${JSON.stringify(state)}`);
    }
    const s = state.s;
    if (
      !Array.isArray(s) ||
      s.length !== 4 ||
      !s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)
    ) {
      throw new RangeError(`rng state.s must be four unsigned 32-bit integers, got ${JSON.stringify(s)}`);
    }
    if (s.every((w) => w === 0)) throw new RangeError('rng state.s must not be all zeros');
    const rng = new Rng(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = s;
    return rng;
  }

  /** The current state, a plain JSON-serializable object (a copy). */
  state(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** The next 32-bit unsigned integer, uniform in [0, 2^32). */
  nextUint32(): number {
    const result = imul(rotl(imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** The next float, uniform in [0, 1), with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. `n` must be an integer in [1, 2^32]. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${String(n)}`);
    }
    // Rejection sampling: accept x below the largest multiple of n that fits in 2^32.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles an array (or typed array) in place with Fisher–Yates and returns it. */
  shuffle<A extends { length: number; [i: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}
