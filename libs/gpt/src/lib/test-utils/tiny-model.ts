/** Test helper: a very small GPT config and text, fast on any backend. */
import type { Batch } from '../data/window-batches';
import type { GPTConfig } from '../model/config';
import { GPTModel } from '../model/gpt-model';
import { initialParameters } from '../model/initialize';

/** 2 layers, 4 heads, width 32, context 16, GPT-2 vocabulary (token ids come from the real tokenizer). */
export const TEST_CONFIG: GPTConfig = {
  vocabSize: 50257,
  contextLength: 16,
  embDim: 32,
  nHeads: 4,
  nLayers: 2,
  dropRate: 0,
  qkvBias: true,
  tiedHead: true,
  layerNormEpsilon: 1e-5,
};

/** A public-domain paragraph (Melville), repeated to give a few hundred tokens. */
export const TEST_TEXT = (
  'Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse, ' +
  'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery ' +
  'part of the world. It is a way I have of driving off the spleen and regulating the circulation. '
).repeat(6);

const initialised = new Map<string, Float32Array>();

/**
 * `GPTModel.random(config, seed)`, with the initial parameters drawn once per file and copied
 * after. Drawing them is plain JavaScript that runs ~20x slower inside Jest's vm sandbox than in
 * Node (every `Math.*` call goes through the sandbox's global), about 2 s for TEST_CONFIG.
 */
export function randomModel(config: GPTConfig, seed: number): GPTModel {
  // Only the parameter layout and the seed decide the parameters (not dropRate or epsilon).
  const { vocabSize, contextLength, embDim, nLayers, qkvBias, tiedHead } = config;
  const key = JSON.stringify([vocabSize, contextLength, embDim, nLayers, qkvBias, tiedHead, seed]);
  let params = initialised.get(key);
  if (!params) {
    params = initialParameters(config, seed);
    initialised.set(key, params);
  }
  return GPTModel.fromParameters(config, params.slice()); // the model owns (and may update) its copy
}

/** Two rows of a context of tokens spread over the vocabulary, targets shifted by one. */
export function spreadBatch(config: GPTConfig): Batch {
  const T = config.contextLength;
  const tokens = Array.from({ length: 2 * (T + 1) }, (_, i) => (i * 211 + 7) % config.vocabSize);
  return {
    inputs: Int32Array.from([...tokens.slice(0, T), ...tokens.slice(T + 1, 2 * T + 1)]),
    targets: Int32Array.from([...tokens.slice(1, T + 1), ...tokens.slice(T + 2)]),
    batchSize: 2,
    contextLength: T,
  };
}
