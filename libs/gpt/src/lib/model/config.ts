import { ConfigError } from '../errors/forge-error';

/**
 * The one configuration object of a GPT model (the book's GPT_CONFIG_124M, with the two choices
 * GPT-2 checkpoints need made explicit: qkv bias and a head tied to the token embedding).
 */
export interface GPTConfig {
  /** Vocabulary size. GPT-2 BPE has 50,257 tokens. */
  vocabSize: number;
  /** Maximum sequence length (number of learned positions). */
  contextLength: number;
  /** Model width C. Must be divisible by nHeads. */
  embDim: number;
  /** Number of attention heads H. */
  nHeads: number;
  /** Number of transformer blocks. */
  nLayers: number;
  /** Dropout after embeddings, attention weights and residual branches (0 disables). */
  dropRate: number;
  /** Whether the fused q,k,v projection has a bias (GPT-2: true; the book's 124M config: false). */
  qkvBias: boolean;
  /** Whether the output head reuses the token embedding matrix (GPT-2: true; the book: false). */
  tiedHead: boolean;
  /** LayerNorm epsilon. @defaultValue 1e-5 */
  layerNormEpsilon: number;
}

const GPT2_BASE = {
  vocabSize: 50257,
  contextLength: 1024,
  dropRate: 0.1,
  qkvBias: true,
  tiedHead: true,
  layerNormEpsilon: 1e-5,
} as const;

/**
 * Named presets. `gpt2-*` are OpenAI's GPT-2 shapes (qkv bias, tied head, as the released weights);
 * `tiny` and `small` are for CPU work and share GPT-2's vocabulary.
 */
export const PRESETS = {
  'gpt2-small': { ...GPT2_BASE, embDim: 768, nLayers: 12, nHeads: 12 },
  'gpt2-medium': { ...GPT2_BASE, embDim: 1024, nLayers: 24, nHeads: 16 },
  'gpt2-large': { ...GPT2_BASE, embDim: 1280, nLayers: 36, nHeads: 20 },
  'gpt2-xl': { ...GPT2_BASE, embDim: 1600, nLayers: 48, nHeads: 25 },
  tiny: { ...GPT2_BASE, contextLength: 64, embDim: 128, nLayers: 2, nHeads: 4, dropRate: 0 },
  small: { ...GPT2_BASE, contextLength: 256, embDim: 384, nLayers: 6, nHeads: 6, dropRate: 0 },
} as const satisfies Record<string, GPTConfig>;

/** The name of a built-in preset. */
export type PresetName = keyof typeof PRESETS;

/** Names of every preset, in size order. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Returns a copy of a named preset with overrides applied, validated. */
export function presetConfig(name: string, overrides: Partial<GPTConfig> = {}): GPTConfig {
  if (!(name in PRESETS)) {
    throw new ConfigError('preset', name, `one of ${PRESET_NAMES.join(', ')}`);
  }
  return validateConfig({ ...PRESETS[name as PresetName], ...overrides });
}

function requirePositiveInteger(config: GPTConfig, field: keyof GPTConfig): void {
  const value = config[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(field, value, 'a positive integer');
  }
}

/** Checks every field of a config and returns it; throws a ConfigError naming the bad field. */
export function validateConfig(config: GPTConfig): GPTConfig {
  for (const field of ['vocabSize', 'contextLength', 'embDim', 'nHeads', 'nLayers'] as const) {
    requirePositiveInteger(config, field);
  }
  if (config.embDim % config.nHeads !== 0) {
    throw new ConfigError('embDim', config.embDim, `divisible by nHeads (${config.nHeads})`);
  }
  if (!(config.dropRate >= 0 && config.dropRate < 1)) {
    throw new ConfigError('dropRate', config.dropRate, 'in [0, 1)');
  }
  if (!(config.layerNormEpsilon > 0)) {
    throw new ConfigError('layerNormEpsilon', config.layerNormEpsilon, 'a positive number');
  }
  for (const field of ['qkvBias', 'tiedHead'] as const) {
    if (typeof config[field] !== 'boolean') throw new ConfigError(field, config[field], 'true or false');
  }
  return config;
}
