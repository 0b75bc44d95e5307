/** The error a finetune job stops with when its context asks it to (cancelled, superseded, shutdown). */

/**
 * Thrown by {@link runFinetuneJob} when `ctx.abortReason()` returns a reason before a step. Not a
 * ForgeError: nothing is wrong with the job, and a later attempt resumes from its saved state.
 */
export class FinetuneAbortedError extends Error {
  constructor(
    /** The reason the context gave. */
    readonly reason: string,
    /** Optimizer steps done when it stopped. */
    readonly step: number,
  ) {
    super(`finetune job aborted after ${step} steps: ${reason}`);
    this.name = 'FinetuneAbortedError';
  }
}
