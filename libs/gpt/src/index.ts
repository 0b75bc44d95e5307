/**
 * @llm-forge/gpt — GPT-2 from scratch on TensorFlow.js: tokenizer, datasets, model, generation,
 * training, evaluation and checkpoints in the Hugging Face GPT-2 layout.
 */
export { ForgeError, ConfigError, CheckpointError, TrainingDivergedError } from './lib/errors/forge-error';
export { DataError } from './lib/data/data-error';
export { TokenizerError } from './lib/tokenizer/tokenizer-error';

export { createTokenizer, END_OF_TEXT, END_OF_TEXT_ID, GPT2_VOCAB_SIZE } from './lib/tokenizer/tokenizer';
export type { Tokenizer, EncodeOptions } from './lib/tokenizer/tokenizer';

export { slidingWindows, windowCount, windowInputs, windowTargets } from './lib/data/sliding-windows';
export type { TokenWindows } from './lib/data/sliding-windows';
export { splitTrainValidation } from './lib/data/train-validation-split';
export type { TextSplit } from './lib/data/train-validation-split';
export { windowBatches } from './lib/data/window-batches';
export type { Batch } from './lib/data/window-batches';
export { Rng, deriveSeed } from './lib/util/rng';
export type { RngState } from './lib/util/rng';

export { PRESETS, PRESET_NAMES, presetConfig, validateConfig } from './lib/model/config';
export type { GPTConfig, PresetName } from './lib/model/config';
export { parameterLayout, parameterShapes, countParameters } from './lib/model/parameter-layout';
export type { ParameterLayout, ParameterSpec } from './lib/model/parameter-layout';
export { GPTModel, blockLinearLayers } from './lib/model/gpt-model';
export type { ForwardOptions, LinearAdapter } from './lib/model/gpt-model';
export { KVCache } from './lib/model/kv-cache';
export * from './lib/ops';

export { generate, generateTokens } from './lib/generation/generate';
export type { GenerateOptions } from './lib/generation/generate';
export { sampleToken } from './lib/generation/sampling';
export type { SamplingOptions } from './lib/generation/sampling';

export { AdamW, DEFAULT_ADAMW } from './lib/training/adamw';
export type { AdamWOptions, AdamWState } from './lib/training/adamw';
export { learningRate } from './lib/training/lr-schedule';
export type { LrSchedule } from './lib/training/lr-schedule';
export { Trainer, batchTensors } from './lib/training/trainer';
export type {
  TrainerOptions,
  StepResult,
  LossFunction,
  StepWork,
  GradientListener,
} from './lib/training/trainer';
export { EmbeddingRows, addPackedRows, presentIds } from './lib/training/embedding-rows';
export {
  ParameterSet,
  countTrainable,
  modelTrainables,
  variableTrainable,
} from './lib/training/parameter-set';
export type { TrainableTensor } from './lib/training/parameter-set';
export { batchLoss, meanLoss, perplexity } from './lib/training/evaluate';

export * from './lib/checkpoint';
