/**
 * Upper bounds of the numbers a client may ask of the cluster (`POST /runs`, `POST /finetunes`,
 * `forge submit`). Each is far above any run this trainer is for, yet finite: issue 14 found
 * `steps: 1e20` training until cancelled and `batchSize: 1e9` accepted with 201, each holding
 * workers (or their memory) for as long as nobody notices.
 */
export const SPEC_LIMITS = {
  /** Optimizer steps of one run or job (nanoGPT's GPT-2 reproduction takes 600,000). */
  steps: 10_000_000,
  /** Global batch, in windows or examples per optimizer step. */
  batchSize: 65_536,
  /** Tokens per window (GPT-2 has 1,024; room for a longer custom model). */
  contextLength: 32_768,
  /** Batches per evaluation estimate. */
  evalBatches: 100_000,
  /** Step checkpoints kept. */
  keepCheckpoints: 1_000,
  /** Examples a finetune reads. */
  maxExamples: 100_000_000,
  /** Responses an instruction finetune generates at the end. */
  maxResponses: 100_000,
} as const;

/** The message of a bound: what the most is and why it exists. */
export function limitMessage(what: string, max: number): string {
  return `${what} must be at most ${max.toLocaleString('en-US')} (the cluster's limit on one request)`;
}
