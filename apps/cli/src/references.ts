/**
 * How every command takes a text or a model: the references of @llm-forge/cluster-protocol (the same
 * the coordinator takes), resolved here against the local disk, or passed on to the coordinator.
 *
 *   texts   FILE | builtin:moby-dick
 *   models  DIR (config.json + model.safetensors) | <run>/step-NNNNNN | <run>/latest
 *
 * `<run>` is a run's checkpoint directory, e.g. `runs/<run id>` of the local cluster.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  LATEST_FILE,
  parseRunCheckpointRef,
  resolveModelReference,
  resolveTextReference,
} from '@llm-forge/cluster-protocol';
import { builtinCorpus, readText } from '@llm-forge/data-shards';

/** Help text of a flag that takes a model. */
export const MODEL_HELP = `model directory, a run checkpoint <run>/step-NNNNNN, or <run>/${LATEST_FILE}`;

/** The text `ref` names: the built-in corpus or a file's contents. Throws naming what is wrong. */
export async function loadText(ref: string): Promise<string> {
  const source = await resolveTextReference(ref);
  return source.kind === 'builtin' ? builtinCorpus() : readText(source.path);
}

/** The model directory `ref` names (`<run>/latest` resolved); undefined stays undefined. */
export async function resolveModelOption(ref: string | undefined): Promise<string | undefined> {
  return ref === undefined ? undefined : resolveModelReference(ref);
}

/**
 * A model reference as the coordinator takes it: a local path made absolute (workers share this
 * disk), or `<runId>/<checkpoint>` as it is when no such local path exists (the coordinator looks the
 * run up).
 */
export function coordinatorModelRef(ref: string): string {
  if (!fs.existsSync(ref) && parseRunCheckpointRef(ref) !== undefined) return ref;
  return path.resolve(ref);
}

/** A text, dataset or output path as the coordinator takes it: absolute; `builtin:` names as they are. */
export function coordinatorPath(ref: string): string {
  return ref.startsWith('builtin:') ? ref : path.resolve(ref);
}
