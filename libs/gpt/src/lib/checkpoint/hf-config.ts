/**
 * Hugging Face GPT-2 `config.json` ↔ {@link GPTConfig}. Reads real GPT-2 configs (`gpt2` …
 * `gpt2-xl`) and writes configs that `transformers.GPT2LMHeadModel.from_pretrained` accepts,
 * plus our one extra key, `qkv_bias` (HF GPT-2 always has a q,k,v bias, so it defaults to true).
 */
import * as fs from 'fs';
import { CheckpointError, ConfigError } from '../errors/forge-error';
import { type GPTConfig, validateConfig } from '../model/config';

/** The keys of a Hugging Face GPT-2 config.json that we read and write. */
export interface HfGpt2Config {
  model_type: 'gpt2';
  architectures: string[];
  vocab_size: number;
  n_positions: number;
  n_ctx: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
  activation_function: string;
  tie_word_embeddings: boolean;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  /** LLM Forge extension: whether c_attn has a bias. Absent in HF files, where it is always true. */
  qkv_bias: boolean;
}

/** GELU variants that are the tanh approximation we implement. */
const TANH_GELU = ['gelu_new', 'gelu_pytorch_tanh'];

/**
 * Maps a parsed HF GPT-2 config.json to a validated GPTConfig. `file` names the source in errors.
 * Throws a CheckpointError naming the key for missing or wrong-typed keys, other model types,
 * and options we do not implement (another activation, n_inner ≠ 4·n_embd, …).
 */
export function gptConfigFromHf(json: unknown, file: string): GPTConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CheckpointError(file, 'is not a JSON object; expected a Hugging Face GPT-2 config.json');
  }
  const c = json as Record<string, unknown>;
  const fail = (problem: string, hint?: string): CheckpointError => new CheckpointError(file, problem, hint);
  if (c['model_type'] !== undefined && c['model_type'] !== 'gpt2') {
    throw fail(`model_type is ${JSON.stringify(c['model_type'])}; only "gpt2" models are supported`);
  }
  const num = (key: string, fallback?: number): number => {
    const v = c[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw fail(`${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw fail(`${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const activation = c['activation_function'] ?? 'gelu_new';
  if (typeof activation !== 'string' || !TANH_GELU.includes(activation)) {
    throw fail(
      `activation_function ${JSON.stringify(activation)} is not supported`,
      `only the tanh GELU (${TANH_GELU.join(' or ')}) is implemented`,
    );
  }
  const embDim = num('n_embd');
  const nInner = c['n_inner'];
  if (nInner !== undefined && nInner !== null && nInner !== 4 * embDim) {
    throw fail(
      `n_inner ${JSON.stringify(nInner)} is not supported; the MLP width must be 4 * n_embd = ${4 * embDim}`,
    );
  }
  if (
    c['scale_attn_weights'] === false ||
    c['scale_attn_by_inverse_layer_idx'] === true ||
    c['reorder_and_upcast_attn'] === true
  ) {
    throw fail(
      'non-default attention scaling (scale_attn_weights / scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn) is not supported',
    );
  }
  const contextLength = c['n_positions'] !== undefined ? num('n_positions') : num('n_ctx');
  const config: GPTConfig = {
    vocabSize: num('vocab_size'),
    contextLength,
    embDim,
    nHeads: num('n_head'),
    nLayers: num('n_layer'),
    dropRate: num('resid_pdrop', 0),
    qkvBias: bool('qkv_bias', true),
    tiedHead: bool('tie_word_embeddings', true),
    layerNormEpsilon: num('layer_norm_epsilon', 1e-5),
  };
  try {
    return validateConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) throw fail(`describes an invalid model: ${e.message}`);
    throw e;
  }
}

/** The HF GPT-2 config.json object for a GPTConfig (dropout written to all three *_pdrop keys). */
export function gptConfigToHf(config: GPTConfig): HfGpt2Config {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: config.vocabSize,
    n_positions: config.contextLength,
    n_ctx: config.contextLength,
    n_embd: config.embDim,
    n_layer: config.nLayers,
    n_head: config.nHeads,
    layer_norm_epsilon: config.layerNormEpsilon,
    activation_function: 'gelu_new',
    tie_word_embeddings: config.tiedHead,
    resid_pdrop: config.dropRate,
    embd_pdrop: config.dropRate,
    attn_pdrop: config.dropRate,
    qkv_bias: config.qkvBias,
  };
}

/** Reads and maps a config.json file; CheckpointError naming the file when missing or not JSON. */
export function readHfConfig(file: string): GPTConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      file,
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(e)})`,
      code === 'ENOENT' ? 'a model folder needs config.json next to model.safetensors' : undefined,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(
      file,
      `is not valid JSON (${(e as Error).message})`,
      're-download or re-save it',
    );
  }
  return gptConfigFromHf(json, file);
}
