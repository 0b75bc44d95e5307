/**
 * The untied head and the bias-free qkv projection, checked against the tied, biased model that the
 * PyTorch golden fixture covers: equal weights must give equal logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GPTModel } from './gpt-model';
import { parameterLayout } from './parameter-layout';
import { crossEntropy } from '../ops/cross-entropy';
import { Trainer } from '../training/trainer';
import { TEST_CONFIG, randomModel } from '../test-utils/tiny-model';
import { useBackend } from '../test-utils/backends';
import { maxAbsDiff } from '../test-utils/compare';

const ids = [464, 3290, 318, 257, 1332, 286, 262, 1103];
/** One seed for every test: the parameters are drawn once per file (see randomModel). */
const SEED = 21;

function logits(model: GPTModel): Float32Array {
  const out = tf.tidy(() => model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** Copies every tensor of `from` that `toConfig`'s layout also has, by name. */
function transplant(
  from: GPTModel,
  to: typeof TEST_CONFIG,
  extra: Record<string, Float32Array> = {},
): Float32Array {
  const source = from.readParameters();
  const byName = new Map(
    from.layout.specs.map((s) => [s.name, source.subarray(s.offset, s.offset + s.size)]),
  );
  const layout = parameterLayout(to);
  const flat = new Float32Array(layout.totalSize);
  for (const spec of layout.specs)
    flat.set(extra[spec.name] ?? (byName.get(spec.name) as Float32Array), spec.offset);
  return flat;
}

describe('GPT variants', () => {
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
  });

  it('an untied head holding the token embedding gives the tied logits', () => {
    const tied = randomModel(TEST_CONFIG, SEED);
    const config = { ...TEST_CONFIG, tiedHead: false };
    const wte = tied.readParameters().subarray(0, TEST_CONFIG.vocabSize * TEST_CONFIG.embDim);
    const untied = GPTModel.fromParameters(config, transplant(tied, config, { 'lm_head.weight': wte }));
    expect(maxAbsDiff(logits(untied), logits(tied))).toBe(0);
    tied.dispose();
    untied.dispose();
  });

  it('a model without qkv bias equals one whose qkv bias is zero', () => {
    const biased = randomModel(TEST_CONFIG, SEED); // biases initialise to zero
    const config = { ...TEST_CONFIG, qkvBias: false };
    const unbiased = GPTModel.fromParameters(config, transplant(biased, config));
    const a = logits(biased);
    const b = logits(unbiased);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    biased.dispose();
    unbiased.dispose();
  });

  it('accumulating two micro-batches of one row equals one batch of two rows', () => {
    const T = ids.length - 1;
    const row = (k: number) =>
      ids
        .slice(k, k + T + 1)
        .concat(ids)
        .slice(0, T + 1);
    const [r0, r1] = [row(0), row(1)];
    const micro = (r: number[]) => ({
      inputs: Int32Array.from(r.slice(0, T)),
      targets: Int32Array.from(r.slice(1)),
      batchSize: 1,
      contextLength: T,
    });
    const both = {
      inputs: Int32Array.from([...r0.slice(0, T), ...r1.slice(0, T)]),
      targets: Int32Array.from([...r0.slice(1), ...r1.slice(1)]),
      batchSize: 2,
      contextLength: T,
    };
    const options = {
      schedule: { lr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 1, schedule: 'constant' as const },
    };
    const a = randomModel(TEST_CONFIG, SEED);
    const b = randomModel(TEST_CONFIG, SEED);
    const accumulated = new Trainer(a, options);
    const whole = new Trainer(b, options);
    const lossA = accumulated.computeGradients([micro(r0), micro(r1)]);
    const lossB = whole.computeGradients([both]);
    expect(lossA).toBeCloseTo(lossB, 5);
    let maxDiff = 0;
    accumulated.grads.forEach((g, i) => (maxDiff = Math.max(maxDiff, Math.abs(g - whole.grads[i]))));
    expect(maxDiff).toBeLessThan(1e-6);
    a.dispose();
    b.dispose();
  });

  it('keeps gradients in shared memory with sharedGradients, computing the same values', () => {
    const options = {
      schedule: { lr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 1, schedule: 'constant' as const },
    };
    const [a, b] = [randomModel(TEST_CONFIG, SEED), randomModel(TEST_CONFIG, SEED)];
    const [shared, plain] = [new Trainer(a, { ...options, sharedGradients: true }), new Trainer(b, options)];
    const T = ids.length - 1;
    const batch = {
      inputs: Int32Array.from(ids.slice(0, T)),
      targets: Int32Array.from(ids.slice(1)),
      batchSize: 1,
      contextLength: T,
    };
    expect(shared.computeGradients([batch])).toBe(plain.computeGradients([batch]));
    expect(shared.grads.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(plain.grads.buffer instanceof SharedArrayBuffer).toBe(false);
    expect(Buffer.from(shared.grads.buffer).equals(Buffer.from(plain.grads.buffer))).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('ignores targets of -100 in the mean loss (NaN when all are ignored, as PyTorch)', () => {
    const model = randomModel(TEST_CONFIG, SEED);
    const input = tf.tensor2d(ids.slice(0, 4), [1, 4], 'int32');
    const full = tf.tensor2d([3290, 318, 257, 1332], [1, 4], 'int32');
    const masked = tf.tensor2d([3290, -100, 257, -100], [1, 4], 'int32');
    const perRow = tf.tidy(() => {
      const out = tf.reshape(model.forward(input), [4, -1]);
      return [0, 2].map(
        (t) =>
          crossEntropy(
            tf.slice(out, [t, 0], [1, -1]),
            tf.slice(tf.reshape(full, [4]), [t], [1]),
          ).dataSync()[0],
      );
    });
    const maskedLoss = tf.tidy(() => crossEntropy(model.forward(input), masked).dataSync()[0]);
    expect(maskedLoss).toBeCloseTo((perRow[0] + perRow[1]) / 2, 5);
    const allIgnored = tf.tidy(
      () => crossEntropy(model.forward(input), tf.fill([1, 4], -100, 'int32')).dataSync()[0],
    );
    expect(allIgnored).toBeNaN();
    tf.dispose([input, full, masked]);
    model.dispose();
  });
});
