/**
 * What finetuning builds on: hidden states for a classification head, writing one parameter (a
 * trainer of a subset), and adapters on the block linear layers (LoRA).
 */
import * as tf from '@tensorflow/tfjs-core';
import { blockLinearLayers, GPTModel, type LinearAdapter } from './gpt-model';
import { TEST_CONFIG, randomModel } from '../test-utils/tiny-model';
import { useBackend } from '../test-utils/backends';
import { closeToBound, maxAbsDiff } from '../test-utils/compare';

const ids = [464, 3290, 318, 257, 1332, 286];

function run(fn: () => tf.Tensor): Float32Array {
  const out = tf.tidy(fn);
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

const input = (): tf.Tensor2D => tf.tensor2d(ids, [1, ids.length], 'int32');

describe('GPTModel extension points', () => {
  let model: GPTModel;
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
  });
  beforeEach(() => (model = randomModel(TEST_CONFIG, 5)));
  afterEach(() => model.dispose());

  it('hidden states times the tied head are the logits', () => {
    const logits = run(() => model.forward(input()));
    const viaHidden = run(() => {
      const h = model.hiddenStates(input()); // (1, T, C)
      return tf.matMul(tf.reshape(h, [ids.length, -1]), model.variable('wte.weight'), false, true);
    });
    expect(viaHidden.length).toBe(logits.length);
    expect(maxAbsDiff(viaHidden, logits)).toBeLessThan(closeToBound(4));
  });

  it('writeParameter changes that parameter only, visible to forward and readParameters', () => {
    const before = model.readParameters();
    const logitsBefore = run(() => model.forward(input()));
    const spec = model.layout.specs.find((s) => s.name === 'ln_f.bias')!;
    model.writeParameter('ln_f.bias', new Float32Array(spec.size).fill(0.5));
    const after = model.readParameters();
    for (let i = 0; i < after.length; i++) {
      const inside = i >= spec.offset && i < spec.offset + spec.size;
      if (inside) expect(after[i]).toBe(0.5);
      else if (after[i] !== before[i]) throw new Error(`parameter ${i} outside ln_f.bias changed`);
    }
    expect(
      maxAbsDiff(
        run(() => model.forward(input())),
        logitsBefore,
      ),
    ).toBeGreaterThan(0);
    expect(() => model.writeParameter('ln_f.bias', new Float32Array(3))).toThrow(/ln_f.bias.length/);
    expect(() => model.writeParameter('nope', new Float32Array(3))).toThrow(/nope/);
  });

  it('an adapter adds its term to the layer output and detaches cleanly', () => {
    const base = run(() => model.forward(input()));
    const zero: LinearAdapter = { delta: (x) => tf.zeros([x.shape[0], 3 * TEST_CONFIG.embDim]) };
    model.setAdapter('h.1.attn.c_attn', zero);
    expect(
      maxAbsDiff(
        run(() => model.forward(input())),
        base,
      ),
    ).toBe(0);
    // A constant added to c_fc's output equals a larger c_fc bias.
    const shift: LinearAdapter = { delta: (x) => tf.fill([x.shape[0], 4 * TEST_CONFIG.embDim], 0.25) };
    model.setAdapter('h.1.attn.c_attn', undefined);
    model.setAdapter('h.0.mlp.c_fc', shift);
    const adapted = run(() => model.forward(input()));
    model.setAdapter('h.0.mlp.c_fc', undefined);
    const bias = model.variable('h.0.mlp.c_fc.bias').dataSync() as Float32Array;
    model.writeParameter(
      'h.0.mlp.c_fc.bias',
      bias.map((b) => b + 0.25),
    );
    expect(
      maxAbsDiff(
        run(() => model.forward(input())),
        adapted,
      ),
    ).toBeLessThan(closeToBound(4));
  });

  it('adapters attach only to block linear layers', () => {
    expect(blockLinearLayers(1)).toEqual([
      'h.1.attn.c_attn',
      'h.1.attn.c_proj',
      'h.1.mlp.c_fc',
      'h.1.mlp.c_proj',
    ]);
    const adapter: LinearAdapter = { delta: (x) => x };
    expect(() => model.setAdapter('h.2.attn.c_attn', adapter)).toThrow(/adapter layer/);
    expect(() => model.setAdapter('wte', adapter)).toThrow(/adapter layer/);
    expect(() => model.setAdapter('h.0.ln_1', adapter)).toThrow(/adapter layer/);
  });
});
