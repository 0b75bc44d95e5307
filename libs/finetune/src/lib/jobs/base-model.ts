/** The model a finetune job starts from: a checkpoint directory (HF layout) or random preset weights. */
import * as path from 'path';
import type { FinetuneSpec } from '@llm-forge/cluster-protocol';
import { CheckpointError, GPT2_VOCAB_SIZE, GPTModel, loadModel, presetConfig } from '@llm-forge/gpt';

/**
 * Loads `spec.baseCheckpoint` or initialises `spec.preset` with `spec.seed`. Throws a
 * CheckpointError naming the file when the checkpoint is missing, corrupt or not of GPT-2's
 * vocabulary (jobs tokenize with GPT-2 BPE), a ConfigError for an unknown preset.
 */
export function loadBaseModel(spec: FinetuneSpec): GPTModel {
  if (spec.preset !== undefined) return GPTModel.random(presetConfig(spec.preset), spec.seed);
  const dir = spec.baseCheckpoint as string;
  const { config, params } = loadModel(dir);
  if (config.vocabSize !== GPT2_VOCAB_SIZE) {
    throw new CheckpointError(
      path.join(dir, 'config.json'),
      `the checkpoint's vocabulary has ${config.vocabSize} tokens, not GPT-2's ${GPT2_VOCAB_SIZE}`,
      'finetune jobs tokenize with GPT-2 BPE: use a GPT-2-vocabulary checkpoint or a preset',
    );
  }
  return GPTModel.fromParameters(config, params);
}
