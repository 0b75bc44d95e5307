/** Where a command's model comes from: a model reference (see references.ts) or a named preset. */
import { resolveModelReference } from '@llm-forge/cluster-protocol';
import { GPTModel, loadModel, presetConfig, type GPTConfig } from '@llm-forge/gpt';

/** Loads a model from a model directory (Hugging Face GPT-2 layout). */
export function modelFromCheckpoint(dir: string): GPTModel {
  const { config, params } = loadModel(dir);
  return GPTModel.fromParameters(config, params);
}

/** Loads the model `ref` names: a model directory, `<run>/step-NNNNNN` or `<run>/latest`. */
export async function modelFromReference(ref: string): Promise<GPTModel> {
  return modelFromCheckpoint(await resolveModelReference(ref));
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
