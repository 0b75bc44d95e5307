/**
 * The trainer's gradients through gradient taps against tfjs's own backprop of the same loss
 * (parameters on the tape), for a tied and an untied head, one and two micro-batches; and what a
 * GradientListener hears.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/window-batches';
import { GPTConfig } from '../model/config';
import type { GPTModel } from '../model/gpt-model';
import { crossEntropy } from '../ops/cross-entropy';
import { TEST_CONFIG, randomModel } from '../test-utils/tiny-model';
import { useBackend } from '../test-utils/backends';
import { maxAbsDiff } from '../test-utils/compare';
import { batchTensors, Trainer } from './trainer';

const B = 2;
const T = 8;

/** Micro-batch `m` of B rows of T tokens. */
function batch(m: number): Batch {
  const ids = Array.from({ length: B * (T + 1) }, (_, i) => (i * 7919 + m * 104729) % 1000);
  const rows = Array.from({ length: B }, (_, b) => ids.slice(b * (T + 1), (b + 1) * (T + 1)));
  return {
    inputs: Int32Array.from(rows.flatMap((r) => r.slice(0, T))),
    targets: Int32Array.from(rows.flatMap((r) => r.slice(1))),
    batchSize: B,
    contextLength: T,
  };
}

/** The flat gradient of the mean loss over `batches` by tfjs's backprop over the parameters. */
function referenceGradients(model: GPTModel, batches: Batch[]): Float32Array {
  const flat = new Float32Array(model.layout.totalSize);
  for (const b of batches) {
    const { grads } = tf.tidy(() =>
      tf.variableGrads(() => {
        const { inputs, targets } = batchTensors(b);
        return crossEntropy(model.forward(inputs), targets) as tf.Scalar;
      }, model.variables()),
    );
    for (const spec of model.layout.specs) {
      const values = grads[model.variable(spec.name).name].dataSync();
      for (let k = 0; k < spec.size; k++) flat[spec.offset + k] += values[k] / batches.length;
    }
    tf.dispose(Object.values(grads));
  }
  return flat;
}

function trainerOf(config: GPTConfig): { model: GPTModel; trainer: Trainer } {
  const model = randomModel(config, 3);
  return {
    model,
    trainer: new Trainer(model, {
      schedule: { lr: 1e-3, minLr: 1e-4, warmupSteps: 0, totalSteps: 10, schedule: 'cosine' },
    }),
  };
}

describe('Trainer gradients through taps', () => {
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
  });

  describe.each([
    ['tied', { ...TEST_CONFIG, vocabSize: 1000 }],
    ['untied', { ...TEST_CONFIG, vocabSize: 1000, tiedHead: false }],
  ])('%s head', (_, config) => {
    it.each([1, 2])('equal tfjs backprop over the parameters, %i micro-batches, leaking nothing', (count) => {
      const { model, trainer } = trainerOf(config);
      const batches = Array.from({ length: count }, (__, m) => batch(m));
      const expected = referenceGradients(model, batches);
      trainer.computeGradients(batches); // the tap anchor is made once, on the first step
      const before = tf.memory().numTensors;
      trainer.computeGradients(batches);
      expect(tf.memory().numTensors).toBe(before);
      expect(maxAbsDiff(trainer.grads, expected)).toBeLessThan(1e-6);
      model.dispose();
    });

    it('tells a listener of every final gradient in backward order and leaves the lookup rows sparse', () => {
      const { model, trainer } = trainerOf(config);
      const batches = [batch(0), batch(1)];
      const expected = referenceGradients(model, batches);
      const heard: number[] = [];
      const loss = trainer.computeGradients(batches, 1, { parameterReady: (i) => heard.push(i) });
      expect(Number.isFinite(loss)).toBe(true);
      const names = heard.map((i) => model.layout.specs[i].name);
      const everyParameter = model.layout.specs.map((s) => s.name);
      // Every parameter once, output head first, the position embedding last; an untied wte has no dense part.
      expect([...names].sort()).toEqual(
        everyParameter.filter((n) => config.tiedHead || n !== 'wte.weight').sort(),
      );
      expect(names[0]).toBe(config.tiedHead ? 'wte.weight' : 'lm_head.weight');
      expect(names[names.length - 1]).toBe('wpe.weight');
      expect(names.indexOf('h.1.mlp.c_proj.weight')).toBeLessThan(names.indexOf('h.0.attn.c_attn.weight'));

      const rows = trainer.embeddingRows;
      expect(rows?.distinctIds().length).toBeLessThanOrEqual(2 * B * T);
      const wte = model.layout.specs[0];
      rows?.addInto(trainer.grads.subarray(wte.offset, wte.offset + wte.size));
      expect(maxAbsDiff(trainer.grads, expected)).toBeLessThan(1e-6);
      model.dispose();
    });
  });
});
