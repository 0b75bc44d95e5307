/**
 * Eager backprop against tfjs-core's own: the same gradients bit for bit, no tensor leaked or
 * disposed under its holder (tf.memory().numTensors before and after), less memory mid-backward.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, backpropMode, setBackprop } from '../../index';
import { randomTensor, testedBackends, useBackend } from '../test-utils/backends';
import { assertMirroredTfjsCore, installBackprop, type BackpropMode } from './eager-backprop';

/** The bits of a tensor's values, for exact comparison. */
function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
}

interface Run {
  grads: number[][];
  value: number[];
  /** numTensors after the call, its results disposed, minus before. */
  leaked: number;
}

/** Runs tf.grads of `f` under `mode`; returns the gradients' bits and the tensor balance. */
function gradsUnder(
  mode: BackpropMode,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
): Run {
  setBackprop(mode);
  try {
    const before = tf.memory().numTensors;
    const { value, grads } = tf.valueAndGrads(f)(xs, dy);
    const run = { grads: grads.map(bits), value: bits(value), leaked: 0 };
    tf.dispose([value, ...grads]);
    run.leaked = tf.memory().numTensors - before;
    return run;
  } finally {
    setBackprop('eager');
  }
}

/** Both backprops of `f`: equal bits, and neither leaks. */
function expectSameAsTfjs(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor): Run {
  const tfjs = gradsUnder('tfjs', f, xs, dy);
  const eager = gradsUnder('eager', f, xs, dy);
  expect(eager.grads).toEqual(tfjs.grads);
  expect(eager.value).toEqual(tfjs.value);
  expect([eager.leaked, tfjs.leaked]).toEqual([0, 0]);
  return eager;
}

/** `depth` layers h = tanh(h W_i) from x [rows, width], with a probe on x whose gradFunc runs last. */
function chain(depth: number, probe: (x: tf.Tensor) => tf.Tensor) {
  return (x: tf.Tensor, ...ws: tf.Tensor[]): tf.Tensor => {
    let h = probe(x);
    for (let i = 0; i < depth; i++) h = tf.tanh(tf.matMul(h, ws[i]));
    return tf.sum(tf.mul(h, h));
  };
}

/** An identity whose gradFunc records tf.memory().numBytes when backward reaches it (its last node). */
function memoryProbe(samples: number[]): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((x, save) => {
    (save as tf.GradSaveFunc)([]);
    return {
      value: tf.clone(x as tf.Tensor),
      gradFunc: (dy) => {
        samples.push(tf.memory().numBytes);
        return tf.clone(dy as tf.Tensor);
      },
    };
  }) as (x: tf.Tensor) => tf.Tensor;
}

describe('eager backprop', () => {
  it('is installed on import', () => {
    expect(backpropMode()).toBe('eager');
  });

  it('fails loudly on another tfjs-core or an unknown FORGE_BACKPROP', () => {
    expect(() => assertMirroredTfjsCore('4.23.0')).toThrow(/tfjs-core 4\.22\.0.*found tfjs-core 4\.23\.0/);
    expect(() => installBackprop('lazy')).toThrow(BackendError);
    expect(() => installBackprop('lazy')).toThrow(/FORGE_BACKPROP must be eager or tfjs/);
    expect(backpropMode()).toBe('eager');
  });
});

describe.each(testedBackends())('eager backprop on the %s backend', (backend) => {
  const held: tf.Tensor[] = [];
  const hold = <T extends tf.Tensor>(t: T): T => {
    held.push(t);
    return t;
  };
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(() => tf.dispose(held.splice(0)));

  it('gives tfjs bits where one tensor feeds several ops', () => {
    const x = hold(randomTensor([6, 5], 1));
    const w = hold(randomTensor([5, 7], 2));
    // a feeds tanh, mul and div; x feeds matMul and the final add.
    const f = (x: tf.Tensor, w: tf.Tensor): tf.Tensor => {
      const a = tf.matMul(x, w);
      const b = tf.add(tf.mul(tf.tanh(a), a), tf.exp(tf.div(a, 3)));
      return tf.add(tf.sum(b), tf.sum(tf.square(x)));
    };
    expectSameAsTfjs(f, [x, w]);
  });

  it('gives tfjs bits through a customGrad whose gradFunc reads dy, and through one returning dy', () => {
    const x = hold(randomTensor([4, 3], 3));
    const seen: number[][] = [];
    const square = tf.customGrad((x, save) => {
      (save as tf.GradSaveFunc)([x as tf.Tensor]);
      return {
        value: tf.square(x as tf.Tensor),
        gradFunc: (dy, saved) => {
          seen.push(Array.from((dy as tf.Tensor).dataSync())); // dy is alive while gradFunc runs
          return tf.mul(tf.mul(dy as tf.Tensor, saved[0]), 2);
        },
      };
    }) as (x: tf.Tensor) => tf.Tensor;
    const passThrough = tf.customGrad((x) => ({
      value: tf.clone(x as tf.Tensor),
      gradFunc: (dy) => dy as tf.Tensor, // the same tensor object as dy, now x's gradient
    })) as (x: tf.Tensor) => tf.Tensor;
    const f = (x: tf.Tensor): tf.Tensor => tf.sum(tf.mul(square(passThrough(tf.mul(x, 3))), x));
    expectSameAsTfjs(f, [x]);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('never disposes a tensor the caller holds: its dy, a gradient from outside, a kept dy', () => {
    const x = hold(randomTensor([3, 4], 4));
    const dy = hold(randomTensor([3, 4], 5)); // the caller's dy of y, and also its tensor
    const outside = hold(randomTensor([3, 4], 6)); // returned as a gradient by a gradFunc
    let stashed: tf.Tensor | undefined;
    const fixedGrad = tf.customGrad((x) => ({
      value: tf.mul(x as tf.Tensor, 2),
      gradFunc: (dy) => {
        stashed = tf.keep(tf.mul(dy as tf.Tensor, 1)); // kept by the gradFunc for later
        return outside;
      },
    })) as (x: tf.Tensor) => tf.Tensor;
    const f = (x: tf.Tensor): tf.Tensor => tf.tanh(fixedGrad(tf.mul(x, x)));
    const [tfjs, eager] = (['tfjs', 'eager'] as const).map((mode) => {
      const run = gradsUnder(mode, f, [x], dy);
      expect(run.leaked).toBe(1); // the stashed tensor, kept on purpose
      const values = bits(stashed!);
      tf.dispose(stashed);
      return { ...run, stashed: values };
    });
    expect(eager).toEqual(tfjs);
    for (const t of [x, dy, outside]) expect(t.isDisposed).toBe(false);
    expect(bits(dy)).toHaveLength(12);
  });

  it('gives tfjs bits through variableGrads, leaving the variables alone', () => {
    const w = tf.variable(randomTensor([5, 4], 7), true, `w-${backend}`);
    const b = tf.variable(randomTensor([4], 8), true, `b-${backend}`);
    const x = hold(randomTensor([3, 5], 9));
    const loss = (): tf.Scalar => tf.sum(tf.sigmoid(tf.add(tf.matMul(x, w), b))) as tf.Scalar;
    const runs = (['tfjs', 'eager'] as const).map((mode) => {
      setBackprop(mode);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(loss);
      const out = { value: bits(value), w: bits(grads[w.name]), b: bits(grads[b.name]), leaked: 0 };
      tf.dispose([value, ...Object.values(grads)]);
      out.leaked = tf.memory().numTensors - before;
      return out;
    });
    setBackprop('eager');
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[1].leaked).toBe(0);
    expect(w.isDisposed || b.isDisposed).toBe(false);
    tf.dispose([w, b]);
  });

  it('computes higher-order gradients (tfjs backprop inside)', () => {
    const x = hold(tf.tensor([0.5, -2, 3]));
    const before = tf.memory().numTensors;
    const second = tf.grad((x: tf.Tensor) => tf.sum(tf.grad((x: tf.Tensor) => tf.sum(tf.pow(x, 3)))(x)))(x);
    expect(Array.from(second.dataSync())).toEqual([3, -12, 18]); // 6x
    second.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('holds less memory mid-backward than tfjs: a test that fails on tfjs backprop', () => {
    const [rows, width, depth] = [256, 32, 8];
    const x = hold(randomTensor([rows, width], 10));
    const ws = Array.from({ length: depth }, (_, i) => hold(randomTensor([width, width], 11 + i)));
    const samples: number[] = [];
    const f = chain(depth, memoryProbe(samples));
    const baseline = tf.memory().numBytes; // what the caller holds: x and the weights
    const live = (mode: BackpropMode): number => {
      samples.length = 0;
      gradsUnder(mode, f, [x, ...ws]);
      return samples[0] - baseline;
    };
    const activation = rows * width * 4;
    // When backward reaches the probe (its last node) eager backprop holds the weights' gradients,
    // the probe's dy and its saved tensors; tfjs also holds every layer's gradients and saved
    // activations (~6 activations a layer).
    const bound = depth * width * width * 4 + 3 * activation;
    const eager = live('eager');
    const tfjs = live('tfjs');
    expect(eager).toBeLessThanOrEqual(bound);
    expect(tfjs).toBeGreaterThan(bound + 2 * depth * activation);
    expectSameAsTfjs(f, [x, ...ws]);
  });
});
