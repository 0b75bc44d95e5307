import { CollectiveError, CollectiveErrorContext, describePeer } from './collective-error';

/**
 * A collective operation did not finish within its timeout: the named peer stopped answering
 * (it is hung, paused, dead, or so slow that the timeout is too short for the buffer size).
 */
export class CollectiveTimeoutError extends CollectiveError {
  /** The timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;

  /** @param detail - what was still outstanding, e.g. "received 3 of 8 MB from it". */
  constructor(context: CollectiveErrorContext & { timeoutMs: number }, detail: string, cause?: unknown) {
    super(
      `all-reduce of step ${context.step} attempt ${context.attempt} timed out after ${context.timeoutMs} ms waiting for ${describePeer(context)}: ${detail}`,
      'check that the peer process is alive and reachable; raise timeoutMs for large buffers or slow links; retry the step with attempt + 1',
      context,
      { cause },
    );
    this.timeoutMs = context.timeoutMs;
  }
}
