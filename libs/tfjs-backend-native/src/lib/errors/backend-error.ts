/**
 * A backend that cannot be used as asked: an unknown FORGE_BACKEND value, a backend that is not
 * installed or failed to start, or an invalid FORGE_NUM_THREADS. The message says why and the
 * hint what to do.
 */
export class BackendError extends Error {
  constructor(
    message: string,
    /** A short suggestion of what to do, e.g. "apt-get install libopenblas-dev, then npm run build:native". */
    readonly hint?: string,
  ) {
    super(hint ? `${message} (${hint})` : message);
    this.name = 'BackendError';
  }
}
