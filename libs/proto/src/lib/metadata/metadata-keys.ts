/**
 * gRPC metadata keys shared by every LLM Forge service. Metadata keys are lower-case ASCII;
 * values are strings.
 */
export const METADATA_KEYS = {
  /** The run's (or cluster's) shared secret; servers answer UNAUTHENTICATED when it is wrong. */
  secret: 'x-llmforge-secret',
  /** Training job (a run, or one attempt of a finetune) of the collective operation a stream belongs to. */
  jobId: 'x-llmforge-job-id',
  /** Optimizer step of the collective operation a stream belongs to (decimal). */
  step: 'x-llmforge-step',
  /** Attempt of that step (decimal, 0 for the first try). */
  attempt: 'x-llmforge-attempt',
  /** Rank of the caller (decimal), for error messages on the server side. */
  fromRank: 'x-llmforge-from-rank',
} as const;
