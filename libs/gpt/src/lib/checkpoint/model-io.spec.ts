import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';
import type { GPTConfig } from '../model/config';
import { parameterLayout } from '../model/parameter-layout';
import { describeIfShared, sharedPath } from '../test-utils/shared-data';
import { gptConfigFromHf, gptConfigToHf } from './hf-config';
import { loadModel, loadModelConfig, saveModel } from './model-io';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
} from './safetensors-dtypes';
import { withSafetensorsFile } from './safetensors-reader';
import { type TensorToWrite, writeSafetensors } from './safetensors-writer';

const TINY: GPTConfig = {
  vocabSize: 11,
  contextLength: 5,
  embDim: 4,
  nHeads: 2,
  nLayers: 2,
  dropRate: 0,
  qkvBias: true,
  tiedHead: true,
  layerNormEpsilon: 1e-5,
};

function randomParams(config: GPTConfig, seed = 1): Float32Array {
  const p = new Float32Array(parameterLayout(config).totalSize);
  let x = seed;
  for (let i = 0; i < p.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    p[i] = (x / 2 ** 32 - 0.5) * 3;
  }
  return p;
}

/** Writes a HF-style model folder by hand with the low-level writer. */
function writeFolder(dir: string, config: GPTConfig, tensors: TensorToWrite[], hfConfig?: object): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig ?? gptConfigToHf(config)));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}

function f32Tensors(config: GPTConfig, params: Float32Array, rename = (n: string) => n): TensorToWrite[] {
  return parameterLayout(config).specs.map((s) => ({
    name: rename(s.name),
    dtype: 'F32' as const,
    shape: s.shape,
    data: params.slice(s.offset, s.offset + s.size),
  }));
}

function catchError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-model-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('HF config.json mapping', () => {
  it('round-trips a config and fills HF defaults', () => {
    const config = { ...TINY, qkvBias: false, tiedHead: false, dropRate: 0.1 };
    expect(gptConfigFromHf(gptConfigToHf(config), 'config.json')).toEqual(config);
    const hf = {
      n_embd: 8,
      n_layer: 1,
      n_head: 2,
      n_ctx: 16,
      vocab_size: 50,
      resid_pdrop: 0.1,
      activation_function: 'gelu_new',
    };
    expect(gptConfigFromHf(hf, 'c.json')).toEqual({
      vocabSize: 50,
      contextLength: 16,
      embDim: 8,
      nHeads: 2,
      nLayers: 1,
      dropRate: 0.1,
      qkvBias: true,
      tiedHead: true,
      layerNormEpsilon: 1e-5,
    });
  });

  it('rejects what we do not implement, naming the key', () => {
    const base = gptConfigToHf(TINY);
    expect(() => gptConfigFromHf({ ...base, activation_function: 'relu' }, 'c.json')).toThrow(
      /c\.json: activation_function "relu"/,
    );
    expect(() => gptConfigFromHf({ ...base, model_type: 'llama' }, 'c.json')).toThrow(
      /model_type is "llama"/,
    );
    expect(() => gptConfigFromHf({ ...base, n_embd: '4' }, 'c.json')).toThrow(/n_embd must be a number/);
    expect(() => gptConfigFromHf({ ...base, n_head: 3 }, 'c.json')).toThrow(
      /invalid model: embDim must be divisible/,
    );
    expect(() => gptConfigFromHf({ ...base, n_inner: 7 }, 'c.json')).toThrow(/n_inner 7/);
  });
});

describeIfShared('loadModel on the gpt2-tiny fixture', () => {
  it('reads the config and every tensor in layout order', () => {
    const dir = sharedPath('fixtures', 'gpt2-tiny');
    const { config, params } = loadModel(dir);
    expect(config).toEqual({
      vocabSize: 50257,
      contextLength: 64,
      embDim: 32,
      nHeads: 4,
      nLayers: 2,
      dropRate: 0,
      qkvBias: true,
      tiedHead: true,
      layerNormEpsilon: 1e-5,
    });
    const layout = parameterLayout(config);
    expect(params.length).toBe(layout.totalSize);
    withSafetensorsFile(path.join(dir, 'model.safetensors'), (st) => {
      for (const s of layout.specs) {
        expect(st.info(s.name).shape).toEqual(s.shape);
        const expected = st.readFloat32(s.name);
        const actual = params.subarray(s.offset, s.offset + s.size);
        expect(
          Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
            Buffer.from(expected.buffer),
          ),
        ).toBe(true);
      }
    });
  });
});

describe('saveModel / loadModel', () => {
  it.each([
    ['tied, qkv bias', TINY],
    ['untied, no qkv bias', { ...TINY, tiedHead: false, qkvBias: false }],
  ])('round-trips bit-exactly (%s)', (_, config) => {
    const params = randomParams(config);
    params[0] = -0;
    params[1] = Number.MIN_VALUE;
    const dir = path.join(tmp, 'out', 'model');
    saveModel(dir, config, params);
    expect(fs.readdirSync(dir).sort()).toEqual(['checksums.json', 'config.json', 'model.safetensors']);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['model']);
    const loaded = loadModel(dir);
    expect(loaded.config).toEqual(config);
    expect(new Uint32Array(loaded.params.buffer)).toEqual(new Uint32Array(params.buffer));
    const hf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(hf).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      activation_function: 'gelu_new',
      n_ctx: 5,
    });
  });

  it('refuses params of the wrong length', () => {
    expect(() => saveModel(path.join(tmp, 'm'), TINY, new Float32Array(3))).toThrow(
      /params.length must be \d+/,
    );
  });

  it.each([
    ['F16', float32ToFloat16, float16ToFloat32],
    ['BF16', float32ToBfloat16, bfloat16ToFloat32],
  ] as const)('loads %s weights as float32', (dtype, encode, decode) => {
    const params = randomParams(TINY, 7);
    const tensors = parameterLayout(TINY).specs.map((s) => ({
      name: s.name,
      dtype,
      shape: s.shape,
      data: Uint16Array.from(params.subarray(s.offset, s.offset + s.size), encode),
    }));
    writeFolder(tmp, TINY, tensors);
    const { params: loaded } = loadModel(tmp);
    expect(Array.from(loaded)).toEqual(Array.from(params, (x) => decode(encode(x))));
    expect(Math.max(...loaded.map((x, i) => Math.abs(x - params[i])))).toBeLessThan(0.02);
  });

  it('accepts the transformer. prefix, attn.bias / masked_bias buffers and a tied lm_head copy', () => {
    const params = randomParams(TINY, 3);
    const tensors = f32Tensors(TINY, params, (n) => `transformer.${n}`);
    for (let i = 0; i < TINY.nLayers; i++) {
      tensors.push({
        name: `transformer.h.${i}.attn.bias`,
        dtype: 'F32',
        shape: [1, 1, 5, 5],
        data: new Float32Array(25),
      });
      tensors.push({
        name: `transformer.h.${i}.attn.masked_bias`,
        dtype: 'F32',
        shape: [],
        data: new Float32Array(1),
      });
    }
    tensors.push({ name: 'lm_head.weight', dtype: 'F32', shape: [11, 4], data: new Float32Array(44) });
    const hf = { ...gptConfigToHf(TINY), qkv_bias: undefined, tie_word_embeddings: undefined };
    writeFolder(tmp, TINY, tensors, hf);
    const loaded = loadModel(tmp);
    expect(loaded.config).toEqual(TINY);
    expect(loaded.params).toEqual(params);
  });

  it('names the tensor, shapes and file for a wrong shape', () => {
    const tensors = f32Tensors(TINY, randomParams(TINY));
    tensors[1] = { name: 'wpe.weight', dtype: 'F32', shape: [4, 5], data: tensors[1].data };
    writeFolder(tmp, TINY, tensors);
    const e = catchError(() => loadModel(tmp));
    expect(e.file).toBe(path.join(tmp, 'model.safetensors'));
    expect(e.message).toMatch(/tensor "wpe.weight" has shape \[4, 5\], expected \[5, 4\]/);
  });

  it('names missing and unexpected tensors and the file', () => {
    const tensors = f32Tensors(TINY, randomParams(TINY));
    writeFolder(
      tmp,
      TINY,
      tensors.filter((t) => t.name !== 'h.1.mlp.c_fc.bias'),
    );
    expect(catchError(() => loadModel(tmp)).message).toMatch(
      /model\.safetensors: is missing tensor h\.1\.mlp\.c_fc\.bias/,
    );
    writeFolder(tmp, TINY, [
      ...tensors,
      { name: 'h.0.extra', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ]);
    expect(catchError(() => loadModel(tmp)).message).toMatch(
      /model\.safetensors: has unexpected tensor h\.0\.extra/,
    );
  });

  it('gives clear errors for a missing folder, config or weights', () => {
    expect(catchError(() => loadModel(path.join(tmp, 'nope'))).message).toMatch(/nope: does not exist/);
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(gptConfigToHf(TINY)));
    expect(catchError(() => loadModel(tmp)).message).toMatch(/model\.safetensors: does not exist/);
    fs.writeFileSync(path.join(tmp, 'pytorch_model.bin'), 'x');
    expect(catchError(() => loadModel(tmp)).message).toMatch(/only PyTorch pytorch_model\.bin/);
    fs.writeFileSync(path.join(tmp, 'config.json'), '{not json');
    expect(catchError(() => loadModel(tmp)).message).toMatch(/config\.json: is not valid JSON/);
  });

  it('loads sharded weights through model.safetensors.index.json', () => {
    const tensors = f32Tensors(TINY, randomParams(TINY, 5));
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(gptConfigToHf(TINY)));
    writeSafetensors(path.join(tmp, 'model-00001-of-00002.safetensors'), tensors.slice(0, 5));
    writeSafetensors(path.join(tmp, 'model-00002-of-00002.safetensors'), tensors.slice(5));
    const weightMap = Object.fromEntries(
      tensors.map((t, i) => [t.name, `model-0000${i < 5 ? 1 : 2}-of-00002.safetensors`]),
    );
    fs.writeFileSync(
      path.join(tmp, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: weightMap }),
    );
    expect(loadModel(tmp).params).toEqual(randomParams(TINY, 5));
  });
});

describe('loadModelConfig', () => {
  it('reads only the config', () => {
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(gptConfigToHf(TINY)));
    expect(loadModelConfig(tmp)).toEqual(TINY);
  });
});

describe('model folders with extras (a classification head)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-extras-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves and loads extra config keys and tensors beside the GPT', () => {
    const out = path.join(dir, 'classifier');
    const head = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    saveModel(out, TINY, randomParams(TINY), {
      extras: {
        config: { architectures: ['GPT2ForSequenceClassification'], id2label: { 0: 'ham', 1: 'spam' } },
        tensors: [{ name: 'score.weight', dtype: 'F32', shape: [2, 4], data: head }],
      },
    });
    const loaded = loadModel(out, { extraTensors: ['score.weight'] });
    expect(loaded.params).toEqual(randomParams(TINY));
    expect(loaded.extras.get('score.weight')).toEqual({ shape: [2, 4], data: head });
    expect(loaded.rawConfig['id2label']).toEqual({ 0: 'ham', 1: 'spam' });
    expect(loaded.rawConfig['architectures']).toEqual(['GPT2ForSequenceClassification']);
    // Without asking for it, the head is an unexpected tensor; asking for a missing one fails too.
    expect(() => loadModel(out)).toThrow(/unexpected tensor score\.weight/);
    expect(() => loadModel(out, { extraTensors: ['score.weight', 'score.bias'] })).toThrow(
      /missing tensor score\.bias/,
    );
  });
});
