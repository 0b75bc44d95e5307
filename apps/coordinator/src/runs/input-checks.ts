/**
 * The up-front checks of what a run or a finetune job will read: every text, dataset and model it
 * names must exist and be readable by the coordinator (which shares the workers' volume), so a typo is
 * a 400 naming the field now rather than a job that fails at step 0. The references are resolved by
 * @llm-forge/cluster-protocol, as the CLI resolves them.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  BUILTIN_TEXT,
  InputReferenceError,
  resolveDatasetReference,
  resolveTextReference,
  SPAMASSASSIN_DATASET,
  type RunSpec,
} from '@llm-forge/cluster-protocol';
import { DomainError, RequestValidationError } from '../common/errors';
import type { CheckpointResolver } from './checkpoint-resolver';
import { checkOutputDir, confineInput, type PathPolicy } from './path-policy';

/** A 400 naming `field`. */
export function invalid(field: string, message: string): RequestValidationError {
  return new RequestValidationError([{ field, message }]);
}

/**
 * The spec with `data.text`, `data.manifest` and `model.init` checked and resolved to absolute
 * directories and files (relative paths are taken from the coordinator's working directory) and
 * confined to the cluster's input directories, and `out` confined to its output directories (see
 * path-policy.ts). Throws a {@link RequestValidationError} naming the first bad field.
 * `otherRunDirs` are the checkpoint directories of the runs the coordinator knows.
 */
export async function checkRunInputs(
  spec: RunSpec,
  checkpoints: CheckpointResolver,
  policy: PathPolicy,
  otherRunDirs: () => Promise<readonly string[]>,
): Promise<RunSpec> {
  const { text, manifest } = spec.data;
  const init =
    spec.model.init === undefined ? undefined : await checkpoints.resolveField('model.init', spec.model.init);
  if (init !== undefined) confineInput('model.init', init, policy);
  const textFile = text === undefined ? undefined : await checkText('data.text', text);
  if (textFile !== undefined && textFile !== BUILTIN_TEXT) confineInput('data.text', textFile, policy);
  const dataset = manifest === undefined ? undefined : await checkDataset('data.manifest', manifest);
  if (dataset !== undefined) confineInput('data.manifest', dataset, policy);
  const out =
    spec.out === undefined
      ? undefined
      : checkOutputDir('out', spec.out, policy, {
          resumeFrom: spec.model.resume ? init : undefined,
          otherRunDirs: await otherRunDirs(),
        });
  return {
    ...spec,
    model: { ...spec.model, init },
    data: { ...spec.data, text: textFile, manifest: dataset },
    out,
  };
}

/** A text reference as workers take it: {@link BUILTIN_TEXT} or an absolute file path. */
export async function checkText(field: string, ref: string): Promise<string> {
  const source = await asField(field, resolveTextReference(ref));
  return source.kind === 'builtin' ? BUILTIN_TEXT : source.path;
}

/** A prepared dataset directory (with its manifest) as an absolute path. */
export function checkDataset(field: string, ref: string): Promise<string> {
  return asField(field, resolveDatasetReference(ref));
}

/** A finetune dataset: {@link SPAMASSASSIN_DATASET}, or the absolute path of a readable file. */
export async function checkFinetuneDataset(field: string, dataset: string): Promise<string> {
  if (dataset === SPAMASSASSIN_DATASET) return dataset;
  if (!path.isAbsolute(dataset)) {
    throw invalid(
      field,
      `${JSON.stringify(dataset)} is not an absolute path: give the file's absolute path on the shared volume (or "${SPAMASSASSIN_DATASET}")`,
    );
  }
  try {
    const stat = await fs.stat(dataset);
    if (!stat.isFile()) throw invalid(field, `${dataset} is not a file`);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw invalid(field, `${dataset} does not exist or cannot be read by the coordinator`);
  }
  return dataset;
}

/** `resolution`'s value, its reference error as a 400 naming `field`. */
async function asField<T>(field: string, resolution: Promise<T>): Promise<T> {
  try {
    return await resolution;
  } catch (error) {
    if (error instanceof InputReferenceError) throw invalid(field, error.message);
    throw error;
  }
}
