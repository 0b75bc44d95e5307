/**
 * The counter-based dropout mask in plain JavaScript, word for word native/dropout.h (see there and
 * kernel-names.ts for the definition): element i is kept iff bits(i) >= floor(rate * 2^32), with
 * bits a keyed hash of (seed, i), so a mask is a pure function of (seed, rate, index).
 * 32-bit products go through Math.imul and every word is brought back to unsigned with `>>> 0`,
 * which makes the arithmetic exactly C's uint32_t.
 */

// Bound once: inside Jest's sandbox every `Math.*` property read is far slower.
const { imul, floor, fround } = Math;

/** MurmurHash3's fmix32 (dropout.h's Mix). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The constants of one mask (dropout.h's DropoutMask). */
export interface DropoutMask {
  k1: number;
  k2: number;
  /** Elements whose bits are below this are dropped. */
  threshold: number;
  /** float32(1 / (1 - rate)). */
  scale: number;
  /** rate > 0. */
  active: boolean;
}

/** The two 32-bit words of a safe-integer seed: [seed mod 2^32, floor(seed / 2^32) mod 2^32]. */
export function seedWords(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`dropout seed must be a safe integer, got ${seed}`);
  return [seed >>> 0, floor(seed / 2 ** 32) >>> 0];
}

/** The mask of `rate` (in [0, 1)) and the seed's words. */
export function dropoutMask(rate: number, seedLo: number, seedHi: number): DropoutMask {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  const k1 = mix(seedLo ^ mix((seedHi + 0x9e3779b9) >>> 0));
  const k2 = mix((k1 + 0x6a09e667) >>> 0);
  return {
    k1,
    k2,
    threshold: Math.min(floor(rate * 2 ** 32), 0xffffffff),
    scale: fround(1 / (1 - rate)),
    active: rate > 0,
  };
}

/** Whether element `index` (taken mod 2^32) is kept. */
export function keep(m: DropoutMask, index: number): boolean {
  return mix((mix(imul(index, 0x9e3779b9) ^ m.k1) + m.k2) >>> 0) >= m.threshold;
}

/**
 * y[i] = keep(i) ? x[i] * scale : 0 over n elements. Also the gradient (dx from dy, same seed).
 * x * scale is one float32 product, exact in a double, so storing it rounds as C's float multiply.
 */
export function dropout(
  x: Float32Array,
  y: Float32Array,
  n: number,
  rate: number,
  seedLo: number,
  seedHi: number,
): void {
  const m = dropoutMask(rate, seedLo, seedHi);
  const { k1, k2, threshold, scale } = m;
  for (let i = 0; i < n; i++) {
    // keep(m, i), inlined: this loop is the whole kernel on cpu and wasm.
    let h = imul(i, 0x9e3779b9) ^ k1;
    h ^= h >>> 16;
    h = imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + k2) | 0;
    h ^= h >>> 16;
    h = imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    y[i] = h >>> 0 >= threshold ? x[i] * scale : 0;
  }
}
