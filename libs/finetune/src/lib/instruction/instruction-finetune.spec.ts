import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, GPTModel, parameterLayout, type GPTConfig } from '@llm-forge/gpt';
import { TEST_CONFIG, randomModel, useBackend } from '@llm-forge/gpt/testing';
import type { InstructionEntry } from './instruction-data';
import { finetuneInstructions, type InstructionEval } from './instruction-finetune';
import { PHI3_STYLE } from './prompt-style';
import { generateResponses } from './responses';
import { mergedParameters } from './instruction-lora';

/** Whether two float arrays hold the same bytes (jest's toEqual walks millions of floats slowly). */
function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Wide enough for a Phi-3 prompt of these entries (about 20 tokens) and a short answer. */
const CONFIG: GPTConfig = { ...TEST_CONFIG, contextLength: 32 };

const COLORS = ['red', 'green', 'blue', 'yellow'];
const train: InstructionEntry[] = COLORS.map((color) => ({
  instruction: 'Name the color.',
  input: `The color is ${color}.`,
  output: `It is ${color}.`,
}));
const validation: InstructionEntry[] = [
  { instruction: 'Name the color.', input: 'The color is black.', output: 'It is black.' },
];

describe('finetuneInstructions', () => {
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
  });

  it('lowers the loss, records evaluations before, during and after, and answers without the prompt', async () => {
    const model = randomModel(CONFIG, 3);
    const evals: InstructionEval[] = [];
    let steps = 0;
    const summary = await finetuneInstructions(
      model,
      { train, validation },
      { style: PHI3_STYLE, epochs: 6, batchSize: 2, lr: 1e-2, evalEvery: 4, evalBatches: 0, seed: 1 },
      { onStep: () => steps++, onEval: (e) => evals.push(e) },
    );
    expect(summary.steps).toBe(12);
    expect(steps).toBe(12);
    expect(summary.examples).toEqual({ train: 4, validation: 1 });
    expect(evals.map((e) => e.step)).toEqual([0, 4, 8, 12]);
    expect(summary.evals).toEqual(evals);
    expect(summary.initial.trainLoss).toBeGreaterThan(9); // about ln(50257) for random weights
    expect(summary.final.trainLoss).toBeLessThan(summary.initial.trainLoss - 4);
    expect(summary.final.valLoss).toBeLessThan(summary.initial.valLoss - 3);
    expect(summary.final.tokensSeen).toBe(evals[3].tokensSeen);
    expect(summary.tokensPerSecond).toBeGreaterThan(0);

    const responses = await generateResponses(model, validation, { style: PHI3_STYLE, maxNewTokens: 6 });
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject(validation[0]);
    expect(responses[0].prompt).toBe('<|user|>\nName the color.\nThe color is black.\n<|assistant|>\n');
    expect(responses[0].model_response).not.toContain('<|user|>');
    model.dispose();
  });

  it('overfits one example with the prompt masked: the greedy answer is the trained output', async () => {
    const model = randomModel(CONFIG, 3);
    const summary = await finetuneInstructions(
      model,
      { train: train.slice(0, 1), validation },
      { style: PHI3_STYLE, epochs: 30, batchSize: 1, lr: 1e-2, maskPrompt: true, evalEvery: 0, seed: 1 },
    );
    // Only the response tokens and the end-of-text carry loss.
    expect(summary.final.trainLoss).toBeLessThan(0.5);
    const [response] = await generateResponses(model, train.slice(0, 1), {
      style: PHI3_STYLE,
      maxNewTokens: 8,
    });
    expect(response.model_response).toBe('It is red.');
    model.dispose();
  });

  it('with LoRA trains only the adapters; the merged parameters give the adapted logits', async () => {
    // A random GPT-2 init caps the frozen tied head's logits near ±0.6, leaving adapters nothing to
    // learn; embeddings 25x larger stand in for a pretrained base that can be confident.
    const base = randomModel(CONFIG, 3).readParameters();
    const wte = parameterLayout(CONFIG).specs.find((spec) => spec.name === 'wte.weight')!;
    for (let i = wte.offset; i < wte.offset + wte.size; i++) base[i] *= 25;
    const model = GPTModel.fromParameters(CONFIG, base.slice());
    const summary = await finetuneInstructions(
      model,
      { train: train.slice(0, 1), validation },
      { style: PHI3_STYLE, epochs: 6, batchSize: 1, lr: 2e-2, lora: { rank: 4, alpha: 8 }, evalEvery: 0 },
    );
    const adapters = summary.adapters!;
    // 2 blocks x (c_attn 32->96, c_proj 32->32, c_fc 32->128, mlp c_proj 128->32), rank 4.
    const perBlock = 4 * (32 + 96) + 4 * (32 + 32) + 4 * (32 + 128) + 4 * (128 + 32);
    expect(summary.trainableParameters).toBe(2 * perBlock);
    expect(adapters.parameterCount).toBe(2 * perBlock);
    expect(summary.final.trainLoss).toBeLessThan(summary.initial.trainLoss - 5);
    // The base stayed frozen.
    expect(sameBytes(model.readParameters(), base)).toBe(true);

    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const adapted = model.forward(ids);
    const merged = GPTModel.fromParameters(CONFIG, mergedParameters(model, adapters));
    const mergedLogits = merged.forward(ids);
    expect(tf.max(tf.abs(tf.sub(adapted, mergedLogits))).dataSync()[0]).toBeLessThan(1e-4);
    adapters.dispose(); // detaches: the model is the base again
    const plain = model.forward(ids);
    expect(tf.max(tf.abs(tf.sub(adapted, plain))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([ids, adapted, mergedLogits, plain]);
    merged.dispose();
    model.dispose();
  });

  it('stops between steps when aborted', async () => {
    const model = randomModel(CONFIG, 3);
    const controller = new AbortController();
    const summary = await finetuneInstructions(
      model,
      { train, validation },
      { style: PHI3_STYLE, epochs: 5, batchSize: 1, evalEvery: 0, evalBatches: 1 },
      { onStep: (s) => s.step === 2 && controller.abort() },
      controller.signal,
    );
    expect(summary.steps).toBe(3);
    expect(summary.final.step).toBe(3);
    model.dispose();
  });

  it('rejects a max length beyond the context and a batch larger than the training split', async () => {
    const model = randomModel(CONFIG, 3);
    const run = (options: object) =>
      finetuneInstructions(model, { train, validation }, { style: PHI3_STYLE, ...options });
    await expect(run({ maxLength: 64 })).rejects.toThrow(ConfigError);
    await expect(run({ maxLength: 64 })).rejects.toThrow('max-length must be an integer in [2, 32]');
    await expect(run({ batchSize: 5 })).rejects.toThrow(DataError);
    await expect(run({ batchSize: 5 })).rejects.toThrow(
      'the training split has 4 examples, fewer than one batch of 5',
    );
    model.dispose();
  });
});
