/** Where a command's model comes from: a checkpoint directory or a named preset. */
import { GPTModel, loadModel, presetConfig, type GPTConfig } from '@llm-forge/gpt';

/** Loads a model from a checkpoint directory (Hugging Face GPT-2 layout). */
export function modelFromCheckpoint(dir: string): GPTModel {
  const { config, params } = loadModel(dir);
  return GPTModel.fromParameters(config, params);
}

/** A freshly initialised model of a preset, with optional overrides. */
export function modelFromPreset(name: string, seed: number, overrides: Partial<GPTConfig> = {}): GPTModel {
  return GPTModel.random(presetConfig(name, overrides), seed);
}

/** Bytes of float32 parameters, as "123.4 MB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) {
    bytes /= 1000;
    i++;
  }
  return `${bytes.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
