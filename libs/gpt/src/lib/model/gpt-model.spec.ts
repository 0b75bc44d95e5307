import * as tf from '@tensorflow/tfjs-core';
import { GPTModel } from './gpt-model';
import { KVCache } from './kv-cache';
import { generate } from '../generation/generate';
import { Trainer } from '../training/trainer';
import { TEST_CONFIG } from '../test-utils/tiny-model';
import { testBackends, useBackend } from '../test-utils/backends';

const ids = [464, 3290, 318, 257, 1332, 286, 262, 1103, 1080, 13, 632, 815];

function batchOf(tokens: number[]) {
  const T = tokens.length - 1;
  return {
    inputs: Int32Array.from(tokens.slice(0, T)),
    targets: Int32Array.from(tokens.slice(1)),
    batchSize: 1,
    contextLength: T,
  };
}

describe.each(testBackends())('GPTModel on the %s backend', (backend) => {
  let available = false;
  beforeAll(async () => {
    available = await useBackend(backend);
  });

  it('gives the same logits with the KV cache as without it', () => {
    if (!available) return;
    const model = GPTModel.random(TEST_CONFIG, 1);
    const full = tf.tidy(() => model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
    const fullValues = full.arraySync()[0];
    const cache = new KVCache(TEST_CONFIG.nLayers);
    const prefix = 5;
    const first = tf.tidy(() =>
      model.forward(tf.tensor2d(ids.slice(0, prefix), [1, prefix], 'int32'), { cache }),
    );
    const stepwise = [...first.arraySync()[0]];
    for (let t = prefix; t < ids.length; t++) {
      const logits = tf.tidy(() => model.forward(tf.tensor2d([ids[t]], [1, 1], 'int32'), { cache }));
      stepwise.push(logits.arraySync()[0][0]);
      logits.dispose();
    }
    expect(cache.length).toBe(ids.length);
    for (let t = 0; t < ids.length; t++) {
      for (let v = 0; v < 50257; v += 997) expect(stepwise[t][v]).toBeCloseTo(fullValues[t][v], 4);
    }
    tf.dispose([full, first]);
    cache.dispose();
    model.dispose();
  });

  it('generates the same greedy tokens with and without the cache, past the context length, without leaking', () => {
    if (!available) return;
    const model = GPTModel.random(TEST_CONFIG, 2);
    const before = tf.memory().numTensors;
    const cached = generate(model, ids.slice(0, 4), { maxNewTokens: 20, useCache: true });
    const plain = generate(model, ids.slice(0, 4), { maxNewTokens: 20, useCache: false });
    expect(cached).toEqual(plain);
    expect(cached).toHaveLength(20);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('stops at the EOS token and samples reproducibly with a seed', () => {
    if (!available) return;
    const model = GPTModel.random(TEST_CONFIG, 3);
    const greedy = generate(model, ids.slice(0, 3), { maxNewTokens: 5 });
    const eos = greedy[1];
    expect(generate(model, ids.slice(0, 3), { maxNewTokens: 5, eosId: eos })).toEqual(
      greedy.slice(0, greedy.indexOf(eos) + 1),
    );
    const a = generate(model, ids.slice(0, 3), { maxNewTokens: 8, temperature: 1.5, topK: 50, seed: 9 });
    const b = generate(model, ids.slice(0, 3), { maxNewTokens: 8, temperature: 1.5, topK: 50, seed: 9 });
    expect(a).toEqual(b);
    model.dispose();
  });

  it('overfits one batch and keeps the tensor count constant from step to step', () => {
    if (!available) return;
    const model = GPTModel.random(TEST_CONFIG, 4);
    const trainer = new Trainer(model, {
      schedule: { lr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 40, schedule: 'constant' },
      adamw: { weightDecay: 0 },
    });
    const batch = batchOf(ids);
    const first = trainer.step([batch]).loss;
    const counts: number[] = [];
    let last = first;
    for (let i = 0; i < 30; i++) {
      last = trainer.step([batch]).loss;
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    expect(first).toBeGreaterThan(10);
    expect(last).toBeLessThan(1);
    model.dispose();
  });

  it('makes dropout masks a function of the seed and step', () => {
    if (!available) return;
    const losses = (seed: number) => {
      const model = GPTModel.random({ ...TEST_CONFIG, dropRate: 0.2 }, 5);
      const trainer = new Trainer(model, {
        schedule: { lr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 3, schedule: 'constant' },
        seed,
      });
      const out = [0, 1, 2].map(() => trainer.step([batchOf(ids)]).loss);
      model.dispose();
      return out;
    };
    expect(losses(1)).toEqual(losses(1));
    expect(losses(1)).not.toEqual(losses(2));
  });
});
