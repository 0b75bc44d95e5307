/**
 * Test helper: compare float arrays with one number. Jest's deep equality and one `expect` per
 * element are very slow on the 50,257-wide logits of GPT-2, so specs assert on the largest
 * difference instead (the same tolerance, one assertion).
 */

/**
 * The largest |a[i] - b[i]|; Infinity when the lengths differ or either side holds a NaN where the
 * other does not, so `expect(maxAbsDiff(a, b)).toBe(0)` is an exact equality check.
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const d = Math.abs(x - y);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/** The largest difference relative to the largest magnitude of `b` (for gradients of any scale). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / (scale || 1);
}

/** jest's `toBeCloseTo(x, digits)` bound: |a - b| < 10^-digits / 2. */
export function closeToBound(digits: number): number {
  return 10 ** -digits / 2;
}
