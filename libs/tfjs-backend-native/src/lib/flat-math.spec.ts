/**
 * Flat AdamW, sum of squares, scale and addInto, native (when built) and JavaScript, against
 * direct formulas.
 */
import * as path from 'path';
import { nativeAvailable, randn } from './test-utils/backends';
import type * as FlatMath from './flat-math';
import type * as NativeAddonModule from './native/native-addon';

/** The flat-math module with the native addon (as loaded) or forced off. */
function flatMath(native: boolean): typeof FlatMath {
  let mod: typeof FlatMath | undefined;
  const saved = process.env.FORGE_NATIVE_ADDON;
  if (!native) process.env.FORGE_NATIVE_ADDON = 'off';
  let loaded = false;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('./flat-math') as typeof FlatMath;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = (require('./native/native-addon') as typeof NativeAddonModule).nativeAddonStatus().loaded;
  });
  if (saved === undefined) delete process.env.FORGE_NATIVE_ADDON;
  else process.env.FORGE_NATIVE_ADDON = saved;
  expect(loaded).toBe(native);
  return mod as typeof FlatMath;
}

const impls = nativeAvailable() ? ['native', 'javascript'] : ['javascript'];

describe.each(impls)('flat math (%s)', (impl) => {
  const math = flatMath(impl === 'native');

  it('adamwStep follows PyTorch AdamW exactly, over a sub-range', () => {
    const n = 20_011;
    const [p0, g] = [randn(n, 31), randn(n, 32, 0.1)];
    const [m0, v0] = [randn(n, 33, 0.01), randn(n, 34, 0.001).map(Math.abs)];
    const hyper = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 7 };
    const [p, m, v] = [p0.slice(), m0.slice(), v0.slice()];
    const [offset, length] = [5, n - 10];
    math.adamwStep(p, g, m, v, hyper, offset, length);
    const { lr, beta1, beta2, eps, weightDecay, step } = hyper;
    const outside = [0, 1, 2, 3, 4, n - 5, n - 4, n - 3, n - 2, n - 1];
    expect(outside.map((i) => [p[i], m[i], v[i]])).toEqual(outside.map((i) => [p0[i], m0[i], v0[i]]));
    // Largest error relative to float32 resolution of each value, over the range.
    let worst = 0;
    const rel = (a: number, b: number) => Math.abs(a - b) / (Math.abs(b) * 2 ** -23 + 1e-30);
    for (let i = offset; i < offset + length; i++) {
      const mi = beta1 * m0[i] + (1 - beta1) * g[i];
      const vi = beta2 * v0[i] + (1 - beta2) * g[i] * g[i];
      let pi = p0[i] - lr * weightDecay * p0[i];
      pi -= ((lr / (1 - beta1 ** step)) * mi) / (Math.sqrt(vi) / Math.sqrt(1 - beta2 ** step) + eps);
      worst = Math.max(worst, rel(m[i], mi), rel(v[i], vi), rel(p[i], pi));
    }
    expect(worst).toBeLessThanOrEqual(2); // float32 rounding of m, v and p
  });

  it('sumOfSquares accumulates in float64', () => {
    const x = randn(200_001, 35);
    let s = 0;
    for (const v of x) s += v * v;
    expect(math.sumOfSquares(x)).toBeCloseTo(s, 6);
    expect(math.sumOfSquares(x, 10, 20)).toBeCloseTo(
      x.subarray(10, 30).reduce((a, v) => a + v * v, 0),
      9,
    );
    const big = new Float32Array(1 << 20).fill(1);
    expect(math.sumOfSquares(big)).toBe(1 << 20);
  });

  it('scale and addInto work in place, over a range', () => {
    const x = randn(70_000, 36);
    const y = randn(70_000, 37);
    const [x0, y0] = [x.slice(), y.slice()];
    math.scale(x, 0.5);
    expect(x.every((v, i) => v === Math.fround(x0[i] * 0.5))).toBe(true);
    math.addInto(y, x0);
    expect(y.every((v, i) => v === Math.fround(y0[i] + x0[i]))).toBe(true);
    const z = new Float32Array(10);
    math.addInto(z, new Float32Array(10).fill(2), 1.5, 2, 3);
    expect(Array.from(z)).toEqual([0, 0, 3, 3, 3, 0, 0, 0, 0, 0]);
  });

  it('sumIntoSerial adds with exact f32 rounding (the all-reduce kernel: every rank the same bits)', () => {
    const [target, source] = [randn(262_147, 38), randn(262_147, 39, 1e-3)];
    const before = target.slice();
    math.sumIntoSerial(target, source);
    expect(target.every((v, i) => v === Math.fround(before[i] + source[i]))).toBe(true);
    const view = before.subarray(3, 8); // views at any offset
    const first = view[0];
    math.sumIntoSerial(view, new Float32Array(5).fill(1));
    expect(view[0]).toBe(Math.fround(first + 1));
    expect(() => math.sumIntoSerial(view, new Float32Array(4))).toThrow(/source has 4 elements, target 5/);
  });

  it('divideSerial divides with exact f32 rounding (the all-reduce average: every rank the same bits)', () => {
    for (const divisor of [2, 3, 4, 5, 7, 8]) {
      const values = randn(65_537, 40 + divisor);
      const before = values.slice();
      math.divideSerial(values, divisor);
      expect(values.every((v, i) => v === Math.fround(before[i] / divisor))).toBe(true);
    }
    const whole = new Float32Array(10).fill(1);
    math.divideSerial(whole.subarray(3, 8), 3); // views at any offset
    expect(Array.from(whole)).toEqual([1, 1, 1, ...Array(5).fill(Math.fround(1 / 3)), 1, 1]);
  });

  it('rejects ranges past the end and a step below 1', () => {
    const a = new Float32Array(4);
    expect(() => math.sumOfSquares(a, 2, 3)).toThrow(/x has 4 elements, fewer than offset \+ length = 5/);
    expect(() => math.addInto(a, new Float32Array(3))).toThrow(/src has 3 elements/);
    const hyper = { lr: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 0 };
    expect(() => math.adamwStep(a, a, a, a, hyper)).toThrow(/step must be >= 1/);
  });
});

if (nativeAvailable()) {
  it('native and JavaScript AdamW agree bit for bit (the vectorised loop contracts no FMA)', () => {
    const [native, js] = [flatMath(true), flatMath(false)];
    const n = 50_000;
    const g = randn(n, 41, 0.3);
    const states = [0, 1].map(() => [randn(n, 42), new Float32Array(n), new Float32Array(n)]);
    for (let step = 1; step <= 3; step++) {
      const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step };
      native.adamwStep(states[0][0], g, states[0][1], states[0][2], hyper);
      js.adamwStep(states[1][0], g, states[1][1], states[1][2], hyper);
    }
    for (const k of [0, 1, 2])
      expect(Buffer.from(states[0][k].buffer).equals(Buffer.from(states[1][k].buffer))).toBe(true);
  });
}

/**
 * The nearest bf16 of the f32 with bit pattern `bits`, as f32 bits, worked out from values (not
 * from bit tricks): the two bf16 neighbours, the nearer one, a tie to the even one; NaN stays NaN.
 */
function nearestBf16Bits(bits: number): number {
  const x = new Float32Array(new Uint32Array([bits]).buffer)[0];
  if (Number.isNaN(x)) return NaN;
  if (!Number.isFinite(x)) return bits; // infinities are bf16 already
  const toward0 = (bits & 0xffff0000) >>> 0;
  const away = (toward0 + 0x10000) >>> 0; // the next bf16 away from zero (infinity past the largest)
  // Past the largest bf16 comes infinity, which IEEE rounding treats as 2^128 (the next power).
  const value = (b: number) => {
    const v = new Float32Array(new Uint32Array([b]).buffer)[0];
    return Number.isFinite(v) ? v : Math.sign(v) * 2 ** 128;
  };
  const [d0, d1] = [Math.abs(x - value(toward0)), Math.abs(value(away) - x)];
  if (d0 !== d1) return d0 < d1 ? toward0 : away;
  return (toward0 & 0x10000) === 0 ? toward0 : away;
}

/** Random f32 bit patterns of every kind, with the edge cases of bf16 rounding first. */
function bf16Cases(n: number): Uint32Array {
  const edges = [
    0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffbfffff, 0x7f7fffff, 0xff7fffff,
    0x7f7f8000, 0x3f808000, 0x3f818000, 0x3f807fff, 0x00008000, 0x00018000, 0x80018000, 0x00000001,
  ];
  const out = new Uint32Array(edges.length + n);
  out.set(edges);
  const random = randn(n, 50);
  const words = new Uint32Array(random.buffer);
  for (let i = 0; i < n; i++) out[edges.length + i] = (words[i] * 2654435761 + i) >>> 0; // all exponents
  return out;
}

if (nativeAvailable()) {
  describe('bf16 codec (native): the ring all-reduce wire format', () => {
    const math = flatMath(true);
    const cases = bf16Cases(100_003);
    const source = new Float32Array(cases.buffer);
    const expected = Array.from(cases, nearestBf16Bits);

    it('bf16EncodeSerial rounds to nearest even and keeps NaN a NaN', () => {
      const encoded = new Uint16Array(source.length);
      math.bf16EncodeSerial(source, encoded);
      for (let i = 0; i < cases.length; i++) {
        if (Number.isNaN(expected[i]))
          expect(encoded[i] & 0x7fc0).toBe(0x7fc0); // all-ones exponent, quiet bit set
        else if (encoded[i] !== expected[i] >>> 16)
          expect([i, cases[i], encoded[i]]).toEqual([i, cases[i], expected[i] >>> 16]);
      }
    });

    it('bf16DecodeSerial widens exactly, bf16RoundSerial equals encode then decode', () => {
      const encoded = new Uint16Array(source.length);
      math.bf16EncodeSerial(source, encoded);
      const decoded = new Float32Array(source.length);
      math.bf16DecodeSerial(encoded, decoded);
      const decodedBits = new Uint32Array(decoded.buffer);
      expect(decodedBits.every((b, i) => b === (encoded[i] << 16) >>> 0)).toBe(true);
      const rounded = source.slice();
      math.bf16RoundSerial(rounded.subarray(0)); // a view
      expect(Buffer.from(rounded.buffer).equals(Buffer.from(decoded.buffer))).toBe(true);
    });

    it('works on arrays in shared memory (a worker keeps its gradients there)', () => {
      const shared = new Float32Array(new SharedArrayBuffer(4 * 9)).subarray(1);
      shared.set(source.subarray(7, 15)); // past the NaNs, whose bits the reference leaves open
      const want = expected.slice(7, 15);
      const encoded = new Uint16Array(new SharedArrayBuffer(2 * 8));
      math.bf16EncodeSerial(shared, encoded);
      expect(Array.from(encoded)).toEqual(want.map((b) => b >>> 16));
      math.bf16DecodeSerial(encoded, shared);
      math.bf16RoundSerial(shared);
      expect(Array.from(new Uint32Array(shared.buffer, 4, 8))).toEqual(want);
    });

    it('works on views at any offset and refuses unequal lengths', () => {
      const whole = new Float32Array([1.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 7]);
      math.bf16RoundSerial(whole.subarray(1, 3)); // ties: to even, up to even
      expect(Array.from(whole)).toEqual([1.5, 1, 1 + 4 * 2 ** -8, 7]);
      expect(() => math.bf16EncodeSerial(new Float32Array(3), new Uint16Array(2))).toThrow(
        /source has 3 elements, target 2/,
      );
    });
  });
}

describe('bf16 codec without the native addon', () => {
  it('says what is missing and what to use instead', () => {
    const math = flatMath(false);
    expect(() => math.bf16RoundSerial(new Float32Array(2))).toThrow(
      /bf16RoundSerial needs the native addon.*JavaScript bf16 codec/,
    );
  });
});

describe('RING_KERNEL_MODULE', () => {
  it('is the module that exports every function RING_KERNEL_EXPORTS names', () => {
    const math = flatMath(false);
    expect(path.basename(math.RING_KERNEL_MODULE)).toMatch(/^flat-math\.(ts|js)$/);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(math.RING_KERNEL_MODULE) as Record<string, unknown>;
    for (const exportName of Object.values(math.RING_KERNEL_EXPORTS)) {
      expect(typeof loaded[exportName]).toBe('function');
    }
  });
});
