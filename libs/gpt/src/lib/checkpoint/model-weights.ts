/**
 * Finds and reads the weights of a model folder into the flat parameter buffer. Accepts
 * Hugging Face GPT-2 files as published: an optional `transformer.` prefix on names, the
 * `h.{i}.attn.bias` / `h.{i}.attn.masked_bias` mask buffers (ignored), a `lm_head.weight` copy of
 * wte in tied models (ignored), F32/F16/BF16/F64 storage, and sharded
 * `model.safetensors.index.json` folders.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';
import type { GPTConfig } from '../model/config';
import { parameterLayout } from '../model/parameter-layout';
import { SafetensorsFile } from './safetensors-reader';

/** File name of single-file weights. */
export const MODEL_FILE = 'model.safetensors';
/** File name of the index of sharded weights. */
export const MODEL_INDEX_FILE = 'model.safetensors.index.json';

const PREFIX = 'transformer.';
const IGNORED = /^h\.\d+\.attn\.(bias|masked_bias)$/;
const MISMATCH_HINT =
  'config.json does not match the weights: check n_layer, n_embd, qkv_bias and tie_word_embeddings';

function shardFiles(indexFile: string): string[] {
  let index: unknown;
  try {
    index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new CheckpointError(
      indexFile,
      `cannot be read as JSON (${(e as Error).message})`,
      're-download it',
    );
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new CheckpointError(indexFile, 'has no weight_map object', 're-download it');
  }
  const files = [...new Set(Object.values(map))];
  if (!files.every((f): f is string => typeof f === 'string' && f.length > 0 && path.basename(f) === f)) {
    throw new CheckpointError(indexFile, 'weight_map must map tensor names to file names in the same folder');
  }
  return files.map((f) => path.join(path.dirname(indexFile), f));
}

/**
 * Opens the weight files of a model folder: `model.safetensors`, or the shards named by
 * `model.safetensors.index.json`. The caller closes them. Throws a CheckpointError when neither
 * exists (mentioning a PyTorch `.bin` if that is what the folder has).
 */
export function openModelWeights(dir: string): SafetensorsFile[] {
  const single = path.join(dir, MODEL_FILE);
  const index = path.join(dir, MODEL_INDEX_FILE);
  if (!fs.existsSync(single) && fs.existsSync(index)) {
    const files: SafetensorsFile[] = [];
    try {
      for (const f of shardFiles(index)) files.push(SafetensorsFile.open(f));
    } catch (e) {
      files.forEach((f) => f.close());
      throw e;
    }
    return files;
  }
  if (!fs.existsSync(single) && fs.existsSync(path.join(dir, 'pytorch_model.bin'))) {
    throw new CheckpointError(
      single,
      'does not exist; the folder has only PyTorch pytorch_model.bin weights, which cannot be read',
      'download model.safetensors from the same Hugging Face repository',
    );
  }
  return [SafetensorsFile.open(single)];
}

interface Located {
  file: SafetensorsFile;
  rawName: string;
}

/**
 * Reads every parameter of `config` from the weight files into a new flat Float32Array in
 * `parameterLayout(config)` order. Every expected tensor must be present with its exact shape and
 * no other tensors may be present (bar the ignored ones); errors name the tensor and the file.
 */
export function readParameters(files: readonly SafetensorsFile[], config: GPTConfig): Float32Array {
  return readWeights(files, config, []).params;
}

/** A tensor read besides the GPT parameters (e.g. a classification head). */
export interface ExtraTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * {@link readParameters} that also accepts, and returns, the tensors named in `extraNames` (each
 * required, any shape): the parts a model built on the GPT adds, such as a classification head.
 */
export function readWeights(
  files: readonly SafetensorsFile[],
  config: GPTConfig,
  extraNames: readonly string[],
): { params: Float32Array; extras: Map<string, ExtraTensor> } {
  const layout = parameterLayout(config);
  const expected = new Map<string, unknown>(layout.specs.map((s) => [s.name, s]));
  for (const name of extraNames) expected.set(name, name);
  const found = new Map<string, Located>();
  const unexpected: string[] = [];
  for (const file of files) {
    for (const rawName of file.tensors.keys()) {
      const name = rawName.startsWith(PREFIX) ? rawName.slice(PREFIX.length) : rawName;
      if (IGNORED.test(name) || (name === 'lm_head.weight' && config.tiedHead)) continue;
      if (!expected.has(name)) {
        unexpected.push(`${rawName} (in ${file.path})`);
        continue;
      }
      const previous = found.get(name);
      if (previous) {
        throw new CheckpointError(
          file.path,
          `tensor "${name}" appears twice (as "${previous.rawName}" in ${previous.file.path} and "${rawName}")`,
        );
      }
      found.set(name, { file, rawName });
    }
  }
  const where =
    files.length === 1 ? files[0].path : `${files.length} weight shards (${files[0]?.path ?? 'none'} …)`;
  const missing = [...expected.keys()].filter((name) => !found.has(name));
  if (missing.length > 0) {
    const list =
      missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
    throw new CheckpointError(
      where,
      `is missing tensor${missing.length > 1 ? 's' : ''} ${list}`,
      MISMATCH_HINT,
    );
  }
  if (unexpected.length > 0) {
    const list =
      unexpected.slice(0, 5).join(', ') + (unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : '');
    throw new CheckpointError(
      where,
      `has unexpected tensor${unexpected.length > 1 ? 's' : ''} ${list}`,
      MISMATCH_HINT,
    );
  }
  for (const spec of layout.specs) {
    const { file, rawName } = found.get(spec.name) as Located;
    const actual = file.info(rawName).shape;
    if (actual.length !== spec.shape.length || actual.some((d, i) => d !== spec.shape[i])) {
      throw new CheckpointError(
        file.path,
        `tensor "${rawName}" has shape [${actual.join(', ')}], expected [${spec.shape.join(', ')}]`,
        MISMATCH_HINT,
      );
    }
  }
  const params = new Float32Array(layout.totalSize);
  for (const spec of layout.specs) {
    const { file, rawName } = found.get(spec.name) as Located;
    file.readFloat32(rawName, params.subarray(spec.offset, spec.offset + spec.size));
  }
  const extras = new Map<string, ExtraTensor>();
  for (const name of extraNames) {
    const { file, rawName } = found.get(name) as Located;
    extras.set(name, { shape: [...file.info(rawName).shape], data: file.readFloat32(rawName) });
  }
  return { params, extras };
}
