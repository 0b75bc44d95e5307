import * as os from 'os';
import { BackendError } from '../errors/backend-error';

/**
 * Threads for the native kernels and OpenBLAS: FORGE_NUM_THREADS when set, otherwise
 * os.availableParallelism(). Throws a {@link BackendError} naming FORGE_NUM_THREADS when it is
 * not a positive integer.
 */
export function resolveThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FORGE_NUM_THREADS;
  if (raw === undefined || raw.trim() === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new BackendError(
      `FORGE_NUM_THREADS must be a positive integer, got ${JSON.stringify(raw)}`,
      'unset it to use every core',
    );
  }
  return n;
}
