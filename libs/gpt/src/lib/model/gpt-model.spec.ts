/**
 * GPTModel behaviour. Inference (KV cache, generation) runs on every backend; training (overfit,
 * dropout determinism) runs on the primary backend, the first that starts (native, else wasm):
 * backend-equivalence.spec.ts holds the others to it on gradients, AdamW steps, dropout and a
 * constant tensor count, on a smaller vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GPTModel } from './gpt-model';
import { KVCache } from './kv-cache';
import { generate } from '../generation/generate';
import { Trainer } from '../training/trainer';
import { TEST_CONFIG, randomModel } from '../test-utils/tiny-model';
import { testBackends, useBackend } from '../test-utils/backends';
import { closeToBound, maxAbsDiff } from '../test-utils/compare';

const ids = [464, 3290, 318, 257, 1332, 286, 262, 1103, 1080, 13, 632, 815];
const V = TEST_CONFIG.vocabSize;

function batchOf(tokens: number[]) {
  const T = tokens.length - 1;
  return {
    inputs: Int32Array.from(tokens.slice(0, T)),
    targets: Int32Array.from(tokens.slice(1)),
    batchSize: 1,
    contextLength: T,
  };
}

/** Logits [T * V] of `tokens`, optionally through a cache. */
function logitsOf(model: GPTModel, tokens: number[], cache?: KVCache): Float32Array {
  const out = tf.tidy(() => model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), { cache }));
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

let primary: string | undefined;

describe.each(testBackends())('GPTModel on the %s backend', (backend) => {
  let available = false;
  /** Shared by the inference tests, which do not change it. */
  let model: GPTModel;
  beforeAll(async () => {
    available = await useBackend(backend);
    if (!available) return;
    primary ??= backend;
    model = randomModel(TEST_CONFIG, 1);
  });
  afterAll(() => model?.dispose());
  const onPrimary = (): boolean => available && primary === backend;

  it('gives the same logits with the KV cache as without it', () => {
    if (!available) return;
    const full = logitsOf(model, ids);
    const cache = new KVCache(TEST_CONFIG.nLayers);
    const prefix = 5;
    const stepwise = new Float32Array(full.length);
    stepwise.set(logitsOf(model, ids.slice(0, prefix), cache));
    for (let t = prefix; t < ids.length; t++) stepwise.set(logitsOf(model, [ids[t]], cache), t * V);
    expect(cache.length).toBe(ids.length);
    cache.dispose();
    expect(maxAbsDiff(stepwise, full)).toBeLessThan(closeToBound(4));
  });

  it('generates the same greedy tokens with and without the cache, past the context length, without leaking', () => {
    if (!available) return;
    const before = tf.memory().numTensors;
    const cached = generate(model, ids.slice(0, 4), { maxNewTokens: 20, useCache: true });
    const plain = generate(model, ids.slice(0, 4), { maxNewTokens: 20, useCache: false });
    expect(cached).toEqual(plain);
    expect(cached).toHaveLength(20);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops at the EOS token and samples reproducibly with a seed', () => {
    if (!available) return;
    const greedy = generate(model, ids.slice(0, 3), { maxNewTokens: 5 });
    const eos = greedy[1];
    expect(generate(model, ids.slice(0, 3), { maxNewTokens: 5, eosId: eos })).toEqual(
      greedy.slice(0, greedy.indexOf(eos) + 1),
    );
    const a = generate(model, ids.slice(0, 3), { maxNewTokens: 8, temperature: 1.5, topK: 50, seed: 9 });
    const b = generate(model, ids.slice(0, 3), { maxNewTokens: 8, temperature: 1.5, topK: 50, seed: 9 });
    expect(a).toEqual(b);
  });

  it('overfits one batch and keeps the tensor count constant from step to step', () => {
    if (!onPrimary()) return; // the other backends: backend-equivalence.spec.ts
    const trained = randomModel(TEST_CONFIG, 1);
    const trainer = new Trainer(trained, {
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
    trained.dispose();
  });

  it('makes dropout masks a function of the seed and step', () => {
    if (!onPrimary()) return; // the other backends: backend-equivalence.spec.ts
    const losses = (seed: number) => {
      const dropped = randomModel({ ...TEST_CONFIG, dropRate: 0.2 }, 1);
      const trainer = new Trainer(dropped, {
        schedule: { lr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 3, schedule: 'constant' },
        seed,
      });
      const out = [0, 1, 2].map(() => trainer.step([batchOf(ids)]).loss);
      dropped.dispose();
      return out;
    };
    expect(losses(1)).toEqual(losses(1));
    expect(losses(1)).not.toEqual(losses(2));
  });
});
