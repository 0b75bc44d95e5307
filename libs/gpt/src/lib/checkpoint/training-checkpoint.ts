/**
 * Full training checkpoints: the model folder (`config.json`, `model.safetensors`) plus AdamW
 * moments (`optimizer.safetensors`: `<name>.exp_avg` and `<name>.exp_avg_sq` per parameter, the
 * step in the metadata) and the trainer's own JSON state (`trainer_state.json`). The whole folder
 * is written atomically (see {@link writeDirAtomic}).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError, ConfigError } from '../errors/forge-error';
import type { GPTConfig } from '../model/config';
import { parameterLayout } from '../model/parameter-layout';
import { requireDir, writeDirAtomic, type WriteDirOptions, writeTextFileAtomic } from './atomic-write';
import { verifyChecksums } from './checksums';
import { checkParams, loadModel, writeModelFiles } from './model-io';
import { withSafetensorsFile } from './safetensors-reader';
import { type TensorToWrite, writeSafetensors } from './safetensors-writer';

/** File name of the optimizer state. */
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** File name of the trainer state. */
export const TRAINER_STATE_FILE = 'trainer_state.json';
/** File name of the trainer state's tensors (e.g. an outer optimizer's momentum), when it has any. */
export const TRAINER_TENSORS_FILE = 'trainer_state.safetensors';
const OPTIMIZER_FORMAT = 'llm-forge-adamw';

/** AdamW state, flat in `parameterLayout(config)` order like the parameters. */
export interface OptimizerState {
  /** First moments (exp_avg). */
  m: Float32Array;
  /** Second moments (exp_avg_sq). */
  v: Float32Array;
  /** Number of optimizer steps taken (for bias correction). */
  step: number;
}

/** Everything a training run needs to resume. */
export interface TrainingCheckpoint {
  config: GPTConfig;
  params: Float32Array;
  /** Absent for a model-only checkpoint. */
  optimizer?: OptimizerState;
  /** Any JSON-serializable trainer state (position, RNG state, metrics …); absent when not saved. */
  trainerState?: unknown;
  /** Flat f32 vectors of the trainer state, by name (e.g. DiLoCo's outer momentum); absent when none. */
  trainerTensors?: Record<string, Float32Array>;
}

/** Options of {@link saveCheckpoint}. */
export type SaveCheckpointOptions = WriteDirOptions;

function optimizerTensors(config: GPTConfig, optimizer: OptimizerState): TensorToWrite[] {
  const tensors: TensorToWrite[] = [];
  for (const s of parameterLayout(config).specs) {
    const range = [s.offset, s.offset + s.size] as const;
    tensors.push({
      name: `${s.name}.exp_avg`,
      dtype: 'F32',
      shape: s.shape,
      data: optimizer.m.subarray(...range),
    });
    tensors.push({
      name: `${s.name}.exp_avg_sq`,
      dtype: 'F32',
      shape: s.shape,
      data: optimizer.v.subarray(...range),
    });
  }
  return tensors;
}

/**
 * Saves a training checkpoint folder atomically. Refuses to replace an existing one unless
 * `overwrite` is set; the old one stays intact until the new one is complete.
 */
export function saveCheckpoint(
  dir: string,
  checkpoint: TrainingCheckpoint,
  options: SaveCheckpointOptions = {},
): void {
  const { config, params, optimizer, trainerState } = checkpoint;
  checkParams(config, params);
  if (optimizer) {
    checkParams(config, optimizer.m, 'optimizer.m');
    checkParams(config, optimizer.v, 'optimizer.v');
    if (!Number.isSafeInteger(optimizer.step) || optimizer.step < 0) {
      throw new ConfigError('optimizer.step', optimizer.step, 'a non-negative integer');
    }
  }
  const stateJson = trainerState === undefined ? undefined : JSON.stringify(trainerState, null, 2);
  writeDirAtomic(
    dir,
    (tmp) => {
      writeModelFiles(tmp, config, params);
      if (optimizer) {
        writeSafetensors(path.join(tmp, OPTIMIZER_FILE), optimizerTensors(config, optimizer), {
          format: OPTIMIZER_FORMAT,
          step: String(optimizer.step),
        });
      }
      if (stateJson !== undefined) writeTextFileAtomic(path.join(tmp, TRAINER_STATE_FILE), `${stateJson}\n`);
      const extra = Object.entries(checkpoint.trainerTensors ?? {});
      if (extra.length > 0) {
        const tensors = extra.map(([name, data]) => ({
          name,
          dtype: 'F32' as const,
          shape: [data.length],
          data,
        }));
        writeSafetensors(path.join(tmp, TRAINER_TENSORS_FILE), tensors, { format: 'pt' });
      }
    },
    options,
  );
}

function readOptimizer(file: string, config: GPTConfig): OptimizerState {
  return withSafetensorsFile(file, (st) => {
    const stepText = st.metadata['step'];
    if (stepText === undefined || !/^\d+$/.test(stepText)) {
      throw new CheckpointError(
        file,
        `has no valid "step" in its metadata (got ${JSON.stringify(stepText)}); it is not an LLM Forge optimizer state`,
      );
    }
    const layout = parameterLayout(config);
    const expected = new Set(layout.specs.flatMap((s) => [`${s.name}.exp_avg`, `${s.name}.exp_avg_sq`]));
    const extra = [...st.tensors.keys()].filter((n) => !expected.has(n));
    if (extra.length > 0) {
      throw new CheckpointError(
        file,
        `has unexpected tensors ${extra.slice(0, 5).join(', ')}`,
        'it belongs to a different model than config.json',
      );
    }
    const m = new Float32Array(layout.totalSize);
    const v = new Float32Array(layout.totalSize);
    for (const s of layout.specs) {
      for (const [suffix, into] of [
        ['exp_avg', m],
        ['exp_avg_sq', v],
      ] as const) {
        const name = `${s.name}.${suffix}`;
        const info = st.tensors.get(name);
        if (!info)
          throw new CheckpointError(
            file,
            `is missing tensor ${name}`,
            'it belongs to a different model than config.json',
          );
        if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
          throw new CheckpointError(
            file,
            `tensor "${name}" has shape [${info.shape.join(', ')}], expected [${s.shape.join(', ')}]`,
          );
        }
        st.readFloat32(name, into.subarray(s.offset, s.offset + s.size));
      }
    }
    return { m, v, step: Number(stepText) };
  });
}

function readTrainerTensors(file: string): Record<string, Float32Array> {
  return withSafetensorsFile(file, (st) =>
    Object.fromEntries([...st.tensors.keys()].map((name) => [name, st.readFloat32(name)])),
  );
}

function readTrainerState(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(
      file,
      `cannot be read as JSON (${(e as Error).message})`,
      'the checkpoint is corrupt; use an earlier one',
    );
  }
}

/**
 * The trainer state of a checkpoint folder alone (undefined in a weights-only folder), without
 * reading its weights or optimizer moments. Throws a CheckpointError naming the file when corrupt
 * (checksums.json verified for that file alone).
 */
export function loadTrainerState(dir: string): unknown {
  requireDir(dir);
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  const state = fs.existsSync(stateFile) ? readTrainerState(stateFile) : undefined;
  verifyChecksums(dir, [TRAINER_STATE_FILE]);
  return state;
}

/**
 * Loads a training checkpoint folder (or any model folder: optimizer and trainerState are then
 * undefined). Throws a CheckpointError naming the file for anything missing or corrupt, including a
 * file whose sha256 differs from the one the folder's checksums.json records.
 */
export function loadCheckpoint(dir: string): TrainingCheckpoint {
  requireDir(dir);
  const { config, params } = loadModel(dir);
  const optimizerFile = path.join(dir, OPTIMIZER_FILE);
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  const tensorsFile = path.join(dir, TRAINER_TENSORS_FILE);
  const checkpoint: TrainingCheckpoint = {
    config,
    params,
    optimizer: fs.existsSync(optimizerFile) ? readOptimizer(optimizerFile, config) : undefined,
    trainerState: fs.existsSync(stateFile) ? readTrainerState(stateFile) : undefined,
  };
  if (fs.existsSync(tensorsFile)) checkpoint.trainerTensors = readTrainerTensors(tensorsFile);
  // After reading, so a truncated file keeps its precise message; nothing read is returned unverified.
  verifyChecksums(dir, [OPTIMIZER_FILE, TRAINER_STATE_FILE, TRAINER_TENSORS_FILE]);
  return checkpoint;
}
