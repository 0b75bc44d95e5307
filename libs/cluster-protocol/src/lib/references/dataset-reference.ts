/**
 * Prepared datasets, as `forge submit pretrain --data` and `data.manifest` of `POST /runs` take them:
 * the directory `forge prepare --out` wrote, holding the shards and their manifest.
 */
import * as path from 'path';
import { isFile, readable, statOrUndefined } from './fs-checks';
import { InputReferenceError } from './reference-error';

/** The manifest of a prepared dataset; libs/data-shards' MANIFEST_FILE. */
export const DATASET_MANIFEST_FILE = 'manifest.json';

const DATASET_HINT = 'give the directory that forge prepare --out wrote';

/**
 * The dataset directory `ref` names, as an absolute path, after checking it holds a readable
 * manifest. Throws an {@link InputReferenceError} otherwise. The shards themselves are verified
 * (sizes, checksums) when a worker opens the dataset.
 */
export async function resolveDatasetReference(ref: string): Promise<string> {
  const dir = path.resolve(ref);
  const stat = await statOrUndefined(dir);
  if (!stat) throw new InputReferenceError(ref, 'dataset directory not found', DATASET_HINT);
  if (!stat.isDirectory()) {
    throw new InputReferenceError(
      ref,
      'is a file, not a dataset directory',
      `${DATASET_HINT}, or pass a text file as the text`,
    );
  }
  const manifest = path.join(dir, DATASET_MANIFEST_FILE);
  if (!(await isFile(manifest))) {
    throw new InputReferenceError(
      ref,
      `has no ${DATASET_MANIFEST_FILE}`,
      `${DATASET_HINT} (forge prepare --input TEXTS --out DIR)`,
    );
  }
  if (!(await readable(manifest))) {
    throw new InputReferenceError(
      ref,
      `${DATASET_MANIFEST_FILE} is not readable (permissions)`,
      DATASET_HINT,
    );
  }
  return dir;
}
