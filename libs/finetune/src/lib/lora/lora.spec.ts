/**
 * LoRA: a fresh adapter changes nothing, only adapters train, and merging gives the same logits as
 * base + adapter, for a language model and for a classifier.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import {
  ParameterSet,
  crossEntropy,
  GPTModel,
  loadModel,
  saveModel,
  type GPTConfig,
  Trainer,
} from '@llm-forge/gpt';
import { TEST_CONFIG, useBackend } from '@llm-forge/gpt/testing';
import { GPTClassifier } from '../classification/classifier';
import { padBatch } from '../classification/classification-dataset';
import { LoraAdapters } from './lora-adapters';
import { mergeLoraFolder } from './lora-merge';

/** The shared tiny test model (libs/gpt test-utils). */
const CONFIG: GPTConfig = TEST_CONFIG;
const ids = [464, 3290, 318, 257, 1332, 286, 262];

function logits(model: GPTModel): Float32Array {
  const out = tf.tidy(() => model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** Gives every B a random value so the adapters change the output. */
function perturb(adapters: LoraAdapters): void {
  for (const layer of adapters.layers.values()) {
    tf.tidy(() => layer.b.assign(tf.randomNormal(layer.b.shape, 0, 0.2, 'float32', 7)));
  }
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, digits = 4): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    if (Math.abs(a[i] - b[i]) > 10 ** -digits) expect([i, a[i]]).toEqual([i, b[i]]);
}

describe('LoRA', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-lora-'));
  let model: GPTModel;
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
    model = GPTModel.random(CONFIG, 3);
  });
  afterAll(() => {
    model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('starts as a no-op: B is zero, A is Kaiming-uniform within 1/sqrt(rank)', () => {
    const base = logits(model);
    const adapters = LoraAdapters.attach(model, { rank: 4, alpha: 8, seed: 1 });
    expect(Array.from(logits(model))).toEqual(Array.from(base));
    const attn = adapters.layers.get('h.0.attn.c_attn')!;
    expect(attn.a.shape).toEqual([32, 4]);
    expect(attn.b.shape).toEqual([4, 96]);
    expect(attn.scale).toBe(2);
    const a = attn.a.dataSync();
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(0.5);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.4);
    expect(attn.b.dataSync().every((v) => v === 0)).toBe(true);
    // Per block: c_attn 4·(32+96), c_proj 4·(32+32), c_fc 4·(32+128), mlp c_proj 4·(128+32).
    expect(adapters.parameterCount).toBe(2 * 4 * (128 + 64 + 160 + 160));
    adapters.dispose();
    expect(Array.from(logits(model))).toEqual(Array.from(base));
  });

  it('trains the adapters only, leaving the base weights frozen', () => {
    // A small vocabulary keeps the LM head cheap; the ids are folded into it.
    const lm = GPTModel.random({ ...CONFIG, vocabSize: 500 }, 3);
    const before = lm.readParameters();
    const adapters = LoraAdapters.attach(lm, { rank: 2, alpha: 4, seed: 2 });
    const trainer = new Trainer(ParameterSet.of(adapters.trainables()), {
      schedule: { lr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 5, schedule: 'constant' },
    });
    const inputs = ids.slice(0, -1).map((i) => i % 500);
    const targets = ids.slice(1).map((i) => i % 500);
    const loss = () =>
      crossEntropy(
        lm.forward(tf.tensor2d(inputs, [1, inputs.length], 'int32')),
        tf.tensor2d(targets, [1, targets.length], 'int32'),
      );
    const losses = [0, 1, 2, 3, 4].map(() => trainer.step(loss).loss);
    expect(losses[4]).toBeLessThan(losses[0]);
    expect(lm.readParameters()).toEqual(before);
    expect(
      adapters.layers
        .get('h.1.mlp.c_fc')!
        .b.dataSync()
        .some((v) => v !== 0),
    ).toBe(true);
    adapters.dispose();
    lm.dispose();
  });

  it('merged weights give the logits of base + adapter', () => {
    const baseDir = path.join(tmp, 'base');
    saveModel(baseDir, CONFIG, model.readParameters());
    const adapters = LoraAdapters.attach(model, { rank: 3, alpha: 6, seed: 4 });
    perturb(adapters);
    const adapted = logits(model);
    expect(Array.from(adapted)).not.toEqual(
      Array.from(logits(GPTModel.fromParameters(CONFIG, model.readParameters()))),
    );
    adapters.save(path.join(tmp, 'adapter'));
    adapters.dispose();
    const { mergedLayers } = mergeLoraFolder(baseDir, path.join(tmp, 'adapter'), path.join(tmp, 'merged'));
    expect(mergedLayers).toHaveLength(8);
    const merged = loadModel(path.join(tmp, 'merged'));
    const mergedModel = GPTModel.fromParameters(merged.config, merged.params);
    expectClose(logits(mergedModel), adapted);
    mergedModel.dispose();
    // Loading the adapter again reproduces the adapted logits too.
    const reloaded = LoraAdapters.load(path.join(tmp, 'adapter'));
    reloaded.attachTo(model);
    expectClose(logits(model), adapted, 5);
    reloaded.dispose();
  });

  it('merges a LoRA classifier (head adapter included) into a plain classifier with equal probabilities', () => {
    const spec = { labels: ['a', 'b', 'c'], pooling: 'last' as const, maxLength: 6, padTokenId: 50256 };
    const classifier = GPTClassifier.fromBase(CONFIG, model.readParameters(), spec, 5);
    perturb(classifier.attachLora({ rank: 2, alpha: 2, seed: 5 }));
    const batch = padBatch([ids.slice(0, 4), ids.slice(2, 7)], [0, 2], 6);
    const adapted = classifier.probabilities(batch);
    const dir = path.join(tmp, 'lora-classifier');
    classifier.save(dir);
    classifier.dispose();
    expect(fs.existsSync(path.join(dir, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    const reloaded = GPTClassifier.load(dir);
    reloaded.probabilities(batch).forEach((p, i) => expectClose(p, adapted[i], 5));
    reloaded.dispose();
    mergeLoraFolder(dir, path.join(dir, 'adapter'), path.join(tmp, 'merged-classifier'));
    const merged = GPTClassifier.load(path.join(tmp, 'merged-classifier'));
    expect(merged.lora).toBeUndefined();
    merged.probabilities(batch).forEach((p, i) => expectClose(p, adapted[i], 5));
    merged.dispose();
  });

  it('refuses to merge into a model of another shape, naming the tensor', () => {
    const other = { ...CONFIG, embDim: 16 };
    const small = GPTModel.random({ ...other, vocabSize: 100 }, 0);
    saveModel(path.join(tmp, 'other'), { ...other, vocabSize: 100 }, small.readParameters());
    small.dispose();
    expect(() =>
      mergeLoraFolder(path.join(tmp, 'other'), path.join(tmp, 'adapter'), path.join(tmp, 'bad')),
    ).toThrow(/tensor h\.0\.attn\.c_attn\.weight has shape \[16, 48\], the adapter needs \[32, 96\]/);
    expect(() => LoraAdapters.load(tmp)).toThrow(/adapter_config\.json: does not exist/);
  });
});
