/**
 * ForgeDropout and the dropout of ForgeCausalAttention on every available backend: the same mask,
 * bit for bit, as the JavaScript definition (math/dropout-js.ts) for any thread count; its
 * statistics; the seed; and attention with dropout against tfjs ops given that mask explicitly.
 * Legend: B = batch, T = time, C = channels, H = heads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeCausalAttention, ForgeCausalAttentionGrad, ForgeDropout } from '../kernel-names';
import { dropout as dropoutJs, dropoutMask, keep, seedWords } from '../math/dropout-js';
import { getNativeAddon } from '../native/native-addon';
import { expectClose, randn, testedBackends, valuesOn } from '../test-utils/backends';
import { attentionRef } from '../test-utils/reference';
import { expectNoLeak, runKernel } from '../test-utils/run-kernel';

/** The JavaScript definition of dropout(x), the reference every backend must equal. */
function expected(x: Float32Array, rate: number, seed: number): Float32Array {
  const y = new Float32Array(x.length);
  dropoutJs(x, y, x.length, rate, ...seedWords(seed));
  return y;
}

/** The mask (0 or 1 / (1 - rate)) of n elements, as a plain array. */
function maskValues(n: number, rate: number, seed: number): Float32Array {
  const m = dropoutMask(rate, ...seedWords(seed));
  return Float32Array.from({ length: n }, (_, i) => (keep(m, i) ? m.scale : 0));
}

/** Attention forward and backward through the kernels: [y, probs, dqkv] (call inside valuesOn). */
function attentionKernels(
  qkv: Float32Array,
  dy: Float32Array,
  [B, T, C]: [number, number, number],
  attrs: tf.NamedAttrMap,
): tf.Tensor[] {
  const q = tf.tensor3d(qkv, [B, T, 3 * C]);
  const [y, probs] = runKernel(ForgeCausalAttention, { qkv: q }, attrs);
  const [dqkv] = runKernel(
    ForgeCausalAttentionGrad,
    { dy: tf.tensor3d(dy, [B, T, C]), qkv: q, probs },
    attrs,
  );
  return [y, probs, dqkv];
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('the dropout mask (JavaScript definition)', () => {
  it.each([0.1, 0.5, 0.9])('keeps 1 - rate of a large tensor (rate %f)', (rate) => {
    const n = 1 << 20;
    const m = dropoutMask(rate, ...seedWords(12345));
    let kept = 0;
    let keptEven = 0;
    for (let i = 0; i < n; i++) {
      if (keep(m, i)) {
        kept++;
        if (i % 2 === 0) keptEven++;
      }
    }
    // Binomial standard deviation at n = 2^20 is at most 0.0005: 0.003 is six of them.
    expect(Math.abs(kept / n - (1 - rate))).toBeLessThan(0.003);
    expect(Math.abs((2 * keptEven) / n - (1 - rate))).toBeLessThan(0.004); // no parity pattern
  });

  it('differs between seeds, the high word included, and keeps each seed fixed', () => {
    const n = 4096;
    const masks = [0, 1, 2 ** 32, 2 ** 32 + 1, 4_294_967_296_000 + 7].map((s) => maskValues(n, 0.5, s));
    for (let a = 0; a < masks.length; a++) {
      for (let b = a + 1; b < masks.length; b++) {
        let same = 0;
        for (let i = 0; i < n; i++) if (masks[a][i] === masks[b][i]) same++;
        expect(Math.abs(same / n - 0.5)).toBeLessThan(0.05); // independent: half agree
      }
    }
    expect(maskValues(n, 0.5, 2 ** 32)).toEqual(masks[2]);
  });

  it('rejects a rate outside [0, 1) and a seed that is not a safe integer', () => {
    expect(() => dropoutMask(1, 0, 0)).toThrow(/\[0, 1\)/);
    expect(() => seedWords(0.5)).toThrow(/safe integer/);
  });
});

describe.each(testedBackends())('ForgeDropout on %s', (backend) => {
  it.each([
    [[7], 0.1, 3],
    [[3, 5, 11], 0.5, 4],
    [[8, 64, 768], 0.1, 2 ** 40 + 5], // large enough to split over the native threads
    [[2, 3], 0.999, 1],
  ] as Array<[number[], number, number]>)(
    '%j at rate %f (seed %d) equals the JavaScript definition bit for bit',
    async (shape, rate, seed) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randn(n, n);
      const [y] = await valuesOn(backend, () =>
        runKernel(ForgeDropout, { x: tf.tensor(x, shape) }, { rate, seed }),
      );
      expect(sameBits(y, expected(x, rate, seed))).toBe(true);
    },
  );

  it('is the identity at rate 0, and frees what it allocates', async () => {
    const x = randn(1000, 9);
    const [y] = await valuesOn(backend, () =>
      runKernel(ForgeDropout, { x: tf.tensor(x) }, { rate: 0, seed: 7 }),
    );
    expect(sameBits(y, x)).toBe(true);
    expectNoLeak(() => {
      tf.tidy(() => {
        runKernel(ForgeDropout, { x: tf.ones([4, 4]) }, { rate: 0.3, seed: 1 });
      });
    });
  });

  it('rejects a missing seed and a rate of 1', async () => {
    await valuesOn(backend, () => tf.zeros([1]));
    expect(() => runKernel(ForgeDropout, { x: tf.ones([2]) }, { rate: 0.1 })).toThrow(/seed/);
    expect(() => runKernel(ForgeDropout, { x: tf.ones([2]) }, { rate: 1, seed: 1 })).toThrow(/rate/);
  });

  it.each([
    [2, 7, 12, 3, 0.1],
    [1, 67, 16, 2, 0.5], // crosses the native row block of 64
    [2, 130, 24, 2, 0.2],
  ])(
    'causal attention B=%i T=%i C=%i H=%i dropRate %f matches tfjs ops with the same mask',
    async (B, T, C, H, dropRate) => {
      const seed = 1000 * 77 + 503;
      const qkv = randn(B * T * 3 * C, 7 + T);
      const dy = randn(B * T * C, 8 + T);
      const mask = maskValues(B * H * T * T, dropRate, seed); // index ((b H + h) T + i) T + j
      const ref = await valuesOn('cpu', () => {
        const q = tf.tensor3d(qkv, [B, T, 3 * C]);
        const m = tf.tensor4d(mask, [B, H, T, T]);
        const [y, probs] = attentionRef(q, H, m);
        const grad = tf.grad((t: tf.Tensor) => attentionRef(t as tf.Tensor3D, H, m)[0]);
        return [y, probs, grad(q, tf.tensor3d(dy, [B, T, C]))];
      });
      const attrs = { numHeads: H, dropRate, seed };
      const got = await valuesOn(backend, () => attentionKernels(qkv, dy, [B, T, C], attrs));
      got.forEach((values, i) => expectClose(values, ref[i], 1e-5));
      // Dropout changes the output: the mask is applied, not ignored.
      const [plain] = await valuesOn(backend, () =>
        runKernel(ForgeCausalAttention, { qkv: tf.tensor3d(qkv, [B, T, 3 * C]) }, { numHeads: H }),
      );
      expect(sameBits(plain, got[0])).toBe(false);
    },
  );

  it('causal attention at dropRate 0 is the kernel without dropout, bit for bit', async () => {
    const [B, T, C, H] = [2, 70, 16, 2];
    const qkv = randn(B * T * 3 * C, 21);
    const dy = randn(B * T * C, 22);
    const run = (attrs: tf.NamedAttrMap) =>
      valuesOn(backend, () => attentionKernels(qkv, dy, [B, T, C], attrs));
    const [without, zero] = [await run({ numHeads: H }), await run({ numHeads: H, dropRate: 0, seed: 5 })];
    without.forEach((values, i) => expect(sameBits(values, zero[i])).toBe(true));
  });
});

const describeNative = testedBackends().includes('native') ? describe : describe.skip;

describeNative('native dropout across thread counts', () => {
  it('draws the same mask with one thread as with all of them', async () => {
    const addon = getNativeAddon();
    if (!addon) throw new Error('native addon not loaded');
    const [B, T, C, H] = [2, 130, 24, 3];
    const qkv = randn(B * T * 3 * C, 31);
    const dy = randn(B * T * C, 32);
    const x = randn(1 << 19, 33);
    const attrs = { numHeads: H, dropRate: 0.1, seed: 99 };
    const all = () =>
      valuesOn('native', () => [
        ...attentionKernels(qkv, dy, [B, T, C], attrs),
        ...runKernel(ForgeDropout, { x: tf.tensor(x) }, { rate: 0.1, seed: 99 }),
      ]);
    const threads = addon.getNumThreads();
    const split = await all();
    addon.setNumThreads(1);
    try {
      const serial = await all();
      // Attention's tasks are whole (b, h) pairs: the same arithmetic on any thread.
      split.forEach((values, i) => expect(sameBits(values, serial[i])).toBe(true));
    } finally {
      addon.setNumThreads(threads);
    }
  });
});
