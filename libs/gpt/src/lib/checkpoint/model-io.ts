/**
 * Saving and loading a model folder in the Hugging Face GPT-2 layout: `config.json` and
 * `model.safetensors` with HF tensor names, readable by `transformers` and loadable from any HF
 * `gpt2` … `gpt2-xl` download.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../errors/forge-error';
import { type GPTConfig, validateConfig } from '../model/config';
import { parameterLayout } from '../model/parameter-layout';
import { requireDir, writeDirAtomic, type WriteDirOptions, writeTextFileAtomic } from './atomic-write';
import { verifyChecksums } from './checksums';
import { gptConfigToHf, readHfConfig } from './hf-config';
import {
  type ExtraTensor,
  MODEL_FILE,
  MODEL_INDEX_FILE,
  openModelWeights,
  readWeights,
} from './model-weights';
import { type TensorToWrite, writeSafetensors } from './safetensors-writer';

/** File name of the model config. */
export const CONFIG_FILE = 'config.json';

/** A model's config and its parameters, flat in `parameterLayout(config)` order. */
export interface LoadedModel {
  config: GPTConfig;
  params: Float32Array;
  /** The tensors asked for with `extraTensors` (e.g. a classification head), by name. */
  extras: Map<string, ExtraTensor>;
  /** config.json as parsed, with any keys beyond the GPT config (labels, adapters' settings …). */
  rawConfig: Record<string, unknown>;
}

/** What a model built on a GPT adds to its folder: config keys and tensors beside the GPT's. */
export interface ModelExtras {
  /** Keys merged into config.json over the GPT-2 ones (e.g. `architectures`, `id2label`). */
  config?: Record<string, unknown>;
  /** Tensors written after the GPT parameters in model.safetensors. */
  tensors?: readonly TensorToWrite[];
}

/** Options of {@link saveModel}. */
export interface SaveModelOptions extends WriteDirOptions {
  /** Config keys and tensors beyond the GPT's (a classification head, its labels). */
  extras?: ModelExtras;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Tensors beyond the GPT's that the folder must hold and that are returned in `extras`. */
  extraTensors?: readonly string[];
}

/** Checks the config and that params has `parameterLayout(config).totalSize` elements. */
export function checkParams(config: GPTConfig, params: Float32Array, field = 'params'): void {
  validateConfig(config);
  const total = parameterLayout(config).totalSize;
  if (!(params instanceof Float32Array) || params.length !== total) {
    throw new ConfigError(`${field}.length`, params?.length, `${total}, the parameter count of the config`);
  }
}

/**
 * Writes `config.json` and `model.safetensors` (F32, `format: pt` metadata) into an existing
 * folder; each file atomically. Used by {@link saveModel} and the training checkpoint writer.
 */
export function writeModelFiles(
  dir: string,
  config: GPTConfig,
  params: Float32Array,
  extras: ModelExtras = {},
): void {
  checkParams(config, params);
  const json = { ...gptConfigToHf(config), ...extras.config };
  writeTextFileAtomic(path.join(dir, CONFIG_FILE), `${JSON.stringify(json, null, 2)}\n`);
  const tensors = parameterLayout(config).specs.map((s) => ({
    name: s.name,
    dtype: 'F32' as const,
    shape: s.shape,
    data: params.subarray(s.offset, s.offset + s.size), // a view, not a copy
  }));
  writeSafetensors(path.join(dir, MODEL_FILE), [...tensors, ...(extras.tensors ?? [])], { format: 'pt' });
}

/**
 * Saves a model folder atomically (built as `<dir>.tmp-XXXX`, then renamed). An existing
 * checkpoint at `dir` is replaced only with `{ overwrite: true }`.
 */
export function saveModel(
  dir: string,
  config: GPTConfig,
  params: Float32Array,
  options: SaveModelOptions = {},
): void {
  checkParams(config, params);
  writeDirAtomic(dir, (tmp) => writeModelFiles(tmp, config, params, options.extras), options);
}

/**
 * Reads only the config of a model folder (cheap: no weights are touched; config.json is verified
 * against the folder's checksums.json when it has one).
 */
export function loadModelConfig(dir: string): GPTConfig {
  requireDir(dir);
  // Structure first (a truncated or foreign file gets its precise message), then the checksum.
  const config = readHfConfig(path.join(dir, CONFIG_FILE));
  verifyChecksums(dir, [CONFIG_FILE]);
  return config;
}

/**
 * Loads a model folder: ours, or a Hugging Face GPT-2 download (`config.json` plus
 * `model.safetensors` or sharded safetensors; F32, F16 or BF16). Throws a CheckpointError naming
 * the file for anything missing, corrupt or mismatched, "checkpoint is corrupt (checksum mismatch)"
 * for a file that differs from the sha256 recorded in the folder's checksums.json (a folder without
 * one, written before checksums or downloaded, loads unverified).
 */
export function loadModel(dir: string, options: LoadModelOptions = {}): LoadedModel {
  const config = loadModelConfig(dir);
  const rawConfig = JSON.parse(fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as Record<
    string,
    unknown
  >;
  const files = openModelWeights(dir);
  try {
    const weights = readWeights(files, config, options.extraTensors ?? []);
    verifyChecksums(dir, [MODEL_FILE, MODEL_INDEX_FILE]);
    return { config, rawConfig, ...weights };
  } finally {
    files.forEach((f) => f.close());
  }
}
