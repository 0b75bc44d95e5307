/**
 * Models, as every command that takes `--model`/`--init` and the API take them:
 *
 *   DIR                  a model directory: config.json + model.safetensors (or a sharded index), as
 *                        forge train/finetune --out write it, or a Hugging Face GPT-2 download
 *   <run>/step-000200    a step checkpoint of a run (a model directory too)
 *   <run>/latest         the run's newest complete checkpoint (the one its `latest` file names)
 *
 * where `<run>` is a run's checkpoint directory (`runs/<run id>` of a local cluster). The coordinator
 * also takes `<runId>/<checkpoint>`: it looks the run's directory up and calls
 * {@link resolveRunCheckpoint}.
 */
import * as path from 'path';
import {
  LATEST_FILE,
  MODEL_CONFIG_FILE,
  MODEL_WEIGHTS_FILE,
  MODEL_WEIGHTS_INDEX_FILE,
} from '../checkpoint-names';
import { listCheckpoints } from '../run-checkpoints';
import { isFile, statOrUndefined } from './fs-checks';
import { InputReferenceError } from './reference-error';

/** What a model reference may be, for error hints. */
export const MODEL_REFERENCE_HINT = `give a model directory (${MODEL_CONFIG_FILE} + ${MODEL_WEIGHTS_FILE}), a run checkpoint such as <run>/step-000200, or <run>/${LATEST_FILE}`;

/** One segment of `<runId>/<checkpoint>`: a plain folder name, never `.` or `..`. */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

/**
 * The model directory `ref` names, as an absolute path. Throws an {@link InputReferenceError} saying
 * what is wrong and what to give instead: a missing path, a file, a folder without config.json or
 * weights (a run's directory gets the hint to add `/latest`), a run without complete checkpoints.
 */
export async function resolveModelReference(ref: string): Promise<string> {
  const target = path.resolve(ref);
  const stat = await statOrUndefined(target);
  if (path.basename(target) === LATEST_FILE && !stat?.isDirectory()) {
    return resolveRunCheckpoint(path.dirname(target), LATEST_FILE, ref);
  }
  if (!stat) throw new InputReferenceError(ref, 'does not exist', MODEL_REFERENCE_HINT);
  if (!stat.isDirectory()) {
    throw new InputReferenceError(ref, 'is a file, not a model directory', MODEL_REFERENCE_HINT);
  }
  await requireModelFiles(target, ref);
  return target;
}

/**
 * The directory of checkpoint `name` (a `step-NNNNNN` name, or `latest` for the newest complete one)
 * in the run directory `runDir`. Only complete checkpoints are returned. `ref` is how the caller's
 * user named it, for the message.
 */
export async function resolveRunCheckpoint(
  runDir: string,
  name: string,
  ref: string = path.join(runDir, name),
): Promise<string> {
  const complete = (await listCheckpoints(runDir)).filter((c) => c.complete);
  const found = name === LATEST_FILE ? complete.find((c) => c.latest) : complete.find((c) => c.name === name);
  if (found) return path.resolve(found.path);
  if (!(await statOrUndefined(runDir))?.isDirectory()) {
    throw new InputReferenceError(ref, `the run directory ${runDir} does not exist`, MODEL_REFERENCE_HINT);
  }
  if (complete.length === 0) {
    throw new InputReferenceError(
      ref,
      'the run has no complete checkpoint yet',
      'wait for its first checkpoint, or give another model',
    );
  }
  throw new InputReferenceError(
    ref,
    `the run has no complete checkpoint ${JSON.stringify(name)}`,
    `its checkpoints: ${complete.map((c) => c.name).join(', ')}, or ${LATEST_FILE}`,
  );
}

/** `<runId>/<checkpoint>` split in two, or undefined when `ref` is not of that form (or traverses). */
export function parseRunCheckpointRef(ref: string): { runId: string; name: string } | undefined {
  if (path.isAbsolute(ref)) return undefined;
  const parts = ref.split('/');
  if (parts.length !== 2 || !parts.every((p) => SEGMENT.test(p))) return undefined;
  return { runId: parts[0], name: parts[1] };
}

/** Throws unless `dir` holds a config and weights; a run's directory is told apart for the hint. */
async function requireModelFiles(dir: string, ref: string): Promise<void> {
  if (!(await isFile(path.join(dir, MODEL_CONFIG_FILE)))) {
    const checkpoints = (await listCheckpoints(dir)).filter((c) => c.complete);
    if (checkpoints.length > 0 || (await isFile(path.join(dir, LATEST_FILE)))) {
      const example = checkpoints.at(-1)?.name ?? 'step-NNNNNN';
      throw new InputReferenceError(
        ref,
        "is a run's checkpoint directory, not a model",
        `give ${path.join(ref, LATEST_FILE)} for its newest checkpoint, or a checkpoint such as ${path.join(ref, example)}`,
      );
    }
    throw new InputReferenceError(ref, `${MODEL_CONFIG_FILE} is missing`, MODEL_REFERENCE_HINT);
  }
  const weights = [MODEL_WEIGHTS_FILE, MODEL_WEIGHTS_INDEX_FILE].map((f) => isFile(path.join(dir, f)));
  if (!(await Promise.all(weights)).some(Boolean)) {
    throw new InputReferenceError(ref, `${MODEL_WEIGHTS_FILE} is missing`, MODEL_REFERENCE_HINT);
  }
}
