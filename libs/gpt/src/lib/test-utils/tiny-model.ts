/** Test helper: a very small GPT config and text, fast on any backend. */
import type { GPTConfig } from '../model/config';

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
