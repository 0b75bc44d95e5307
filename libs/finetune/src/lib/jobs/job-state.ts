/**
 * Resumable state of a finetune job, written by rank 0 into `<outDir>/state/step-NNNNNN/`:
 * `trainer.safetensors` (the trainable values, AdamW's m and v, flat in the order of the
 * trainables; the step count in its metadata) and `state.json` (step, logged history, initial
 * losses, a hash of the spec fields that shape training, the tensor file's sha256). Each folder is
 * built under a temporary name and renamed into place; the newest two are kept.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  checkpointName,
  FINETUNE_STATE_DIR,
  FINETUNE_STATE_JSON_FILE,
  FINETUNE_STATE_TENSORS_FILE,
  parseCheckpointName,
  type FinetuneMetric,
  type FinetuneSpec,
} from '@llm-forge/cluster-protocol';
import {
  CheckpointError,
  SafetensorsFile,
  sha256File,
  verifyChecksums,
  verifyFileSha256,
  writeDirAtomic,
  writeSafetensors,
  writeTextFileAtomic,
  type AdamWState,
} from '@llm-forge/gpt';
import type { InitialLosses } from './job-task';

/** Folder of the states inside a job's output directory (named in @llm-forge/cluster-protocol). */
export const STATE_DIR = FINETUNE_STATE_DIR;
/** Tensor file of a state. */
export const STATE_TENSORS_FILE = FINETUNE_STATE_TENSORS_FILE;
/** JSON file of a state. */
export const STATE_JSON_FILE = FINETUNE_STATE_JSON_FILE;
const FORMAT = 'forge-finetune-state/1';
/** States kept after each save. */
export const STATES_KEPT = 2;

/** What a state holds. */
export interface JobState {
  step: number;
  values: Float32Array;
  optimizer: AdamWState;
  history: FinetuneMetric[];
  initial?: InitialLosses;
}

/** state.json. */
interface StateJson {
  format: typeof FORMAT;
  step: number;
  specHash: string;
  trainableValues: number;
  tensorsSha256: string;
  history: FinetuneMetric[];
  initial?: InitialLosses;
}

/**
 * sha256 of the spec fields that decide the weights after each step (not `workers`: the result does
 * not depend on how many ranks share a batch; not the outputs' settings).
 */
export function trainingSpecHash(spec: FinetuneSpec): string {
  const fields = {
    kind: spec.kind,
    baseCheckpoint: spec.baseCheckpoint ?? null,
    preset: spec.preset ?? null,
    dataset: spec.dataset,
    hyperparameters: spec.hyperparameters,
    train: spec.train,
    lora: spec.lora ?? null,
    style: spec.style,
    maskInstruction: spec.maskInstruction,
    balance: spec.balance,
    maxExamples: spec.maxExamples ?? null,
    seed: spec.seed,
    // Left out when absent (undefined), so the hash of a spec from before these settings holds.
    labels: spec.labels,
    pooling: spec.pooling,
    valFraction: spec.valFraction,
    testFraction: spec.testFraction,
  };
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/** JSON with object keys sorted, so equal specs hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Folder name of the state after `step` steps: a run checkpoint's name (`step-NNNNNN`). */
export function stateName(step: number): string {
  return checkpointName(step);
}

/** Step of a state folder name, or undefined for anything else (temporary folders included). */
function stateStep(name: string): number | undefined {
  return parseCheckpointName(name);
}

/** Writes the state after `state.step` steps atomically and prunes older ones. */
export function saveJobState(outDir: string, specHash: string, state: JobState): string {
  const root = path.join(outDir, STATE_DIR);
  const dir = path.join(root, stateName(state.step));
  // A folder of the same step is a corrupt one this attempt skipped, or one an interrupted
  // attempt wrote from the same weights: either way it is replaced.
  fs.rmSync(dir, { recursive: true, force: true });
  writeDirAtomic(dir, (tmp) => {
    const tensorFile = path.join(tmp, STATE_TENSORS_FILE);
    const size = state.values.length;
    writeSafetensors(
      tensorFile,
      [
        { name: 'values', dtype: 'F32', shape: [size], data: state.values },
        { name: 'adam_m', dtype: 'F32', shape: [size], data: state.optimizer.m },
        { name: 'adam_v', dtype: 'F32', shape: [size], data: state.optimizer.v },
      ],
      { format: 'pt', step: String(state.optimizer.step) },
    );
    const json: StateJson = {
      format: FORMAT,
      step: state.step,
      specHash,
      trainableValues: size,
      tensorsSha256: sha256File(tensorFile),
      history: state.history,
      ...(state.initial ? { initial: state.initial } : {}),
    };
    writeTextFileAtomic(path.join(tmp, STATE_JSON_FILE), `${JSON.stringify(json)}\n`);
  });
  pruneStates(root, state.step);
  return dir;
}

/**
 * Keeps the newest {@link STATES_KEPT} states up to `current`; removes newer ones (corrupt states
 * this attempt skipped) and leftover temporary folders of interrupted saves.
 */
function pruneStates(root: string, current: number): void {
  const entries = fs.readdirSync(root);
  const steps = entries
    .map(stateStep)
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => b - a);
  const keep = new Set(steps.filter((s) => s <= current).slice(0, STATES_KEPT));
  for (const name of entries) {
    const step = stateStep(name);
    const stale = step === undefined ? /^step-\d+\.(tmp|old)-/.test(name) : !keep.has(step);
    if (stale) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/** Why a state cannot be used, with the file at fault. */
class UnusableState extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** Reads and verifies one state folder; UnusableState naming the file otherwise. */
function readState(dir: string, specHash: string, size: number): JobState {
  const jsonFile = path.join(dir, STATE_JSON_FILE);
  // checksums.json (written by writeDirAtomic) covers state.json too; states from before it have
  // only the tensors' sha256 inside state.json, checked below.
  verifyChecksums(dir, [STATE_JSON_FILE, STATE_TENSORS_FILE]);
  let json: StateJson;
  try {
    json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as StateJson;
  } catch (e) {
    throw new UnusableState(jsonFile, `cannot be read (${(e as Error).message})`);
  }
  if (json.format !== FORMAT || !Number.isInteger(json.step) || !Array.isArray(json.history)) {
    throw new UnusableState(jsonFile, `is not a ${FORMAT} file`);
  }
  if (json.specHash !== specHash) {
    throw new UnusableState(jsonFile, 'was written for a different spec (data, model or hyperparameters)');
  }
  if (json.trainableValues !== size) {
    throw new UnusableState(jsonFile, `holds ${json.trainableValues} trainable values, this job has ${size}`);
  }
  const tensorFile = path.join(dir, STATE_TENSORS_FILE);
  if (!fs.existsSync(tensorFile)) throw new UnusableState(tensorFile, 'does not exist');
  verifyFileSha256(tensorFile, json.tensorsSha256);
  const file = SafetensorsFile.open(tensorFile);
  try {
    const read = (name: string) => {
      const values = file.readFloat32(name);
      if (values.length !== size) throw new UnusableState(tensorFile, `${name} has ${values.length} values`);
      return values;
    };
    const step = Number(file.metadata['step']);
    if (step !== json.step)
      throw new UnusableState(tensorFile, `step ${step} differs from state.json's ${json.step}`);
    return {
      step,
      values: read('values'),
      optimizer: { m: read('adam_m'), v: read('adam_v'), step },
      history: json.history,
      ...(json.initial ? { initial: json.initial } : {}),
    };
  } finally {
    file.close();
  }
}

/**
 * The state in `dir` (a folder the coordinator chose to resume from), verified: its format, the
 * hash of the spec fields that shape training (not `workers`: a job may resume on another number
 * of ranks), its size and every file's sha256; with `step`, it must hold that many steps.
 *
 * @throws CheckpointError - naming the file when the state is missing, corrupt, of another spec
 *   or of another step (the coordinator then falls back to an older one).
 */
export function readJobState(dir: string, specHash: string, size: number, step?: number): JobState {
  let state: JobState;
  try {
    state = readState(dir, specHash, size);
  } catch (e) {
    if (e instanceof UnusableState) throw new CheckpointError(e.file, e.message.slice(e.file.length + 2));
    throw e;
  }
  if (step !== undefined && state.step !== step) {
    throw new CheckpointError(
      dir,
      `holds ${state.step} steps, expected ${step}`,
      'resume from a state this job wrote',
    );
  }
  return state;
}
