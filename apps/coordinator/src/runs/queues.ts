/**
 * BullMQ queues and job payloads of the step schedule. A step is a flow: one parent job on
 * {@link STEP_QUEUE} and one child per worker rank on {@link RANK_QUEUE}; the parent completes when every rank has.
 * Payloads come back from Redis as plain JSON, so consumers re-validate them with the schemas below.
 */
import { z } from 'zod';

/** Queue of the parent step jobs (one per run step). */
export const STEP_QUEUE = 'forge-steps';
/** Queue of the per-rank jobs that workers take. */
export const RANK_QUEUE = 'forge-rank-steps';
/** Job name of a parent step job. */
export const STEP_JOB = 'step';
/** Job name of a rank job. */
export const RANK_JOB = 'rank-step';

/** Payload of a parent step job. */
export const stepJobSchema = z
  .object({
    runId: z.string().min(1),
    step: z.number().int().min(0),
    worldSize: z.number().int().positive(),
    attempt: z.number().int().min(0),
  })
  .strict();
/** Payload of a parent step job. */
export type StepJobData = z.infer<typeof stepJobSchema>;

/** Payload of one rank's job. Ranks form the ring in rank order (0 → 1 → … → worldSize-1 → 0). */
export const rankJobSchema = stepJobSchema
  .extend({ rank: z.number().int().min(0) })
  .strict()
  .refine((j) => j.rank < j.worldSize, { message: 'rank must be below worldSize', path: ['rank'] });
/** Payload of one rank's job. */
export type RankJobData = z.infer<typeof rankJobSchema>;

/** Validates a rank job's payload read back from Redis; throws naming the bad field. */
export function parseRankJob(data: unknown): RankJobData {
  const parsed = rankJobSchema.safeParse(data);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
    throw new Error(`invalid rank job payload: ${why.join('; ')}`);
  }
  return parsed.data;
}

/** Id of a run step's parent job; deterministic so that a step is never enqueued twice. */
export function stepJobId(runId: string, step: number, attempt: number): string {
  return `${runId}.s${step}.a${attempt}`;
}

/** Id of one rank's job in a step. */
export function rankJobId(runId: string, step: number, attempt: number, rank: number): string {
  return `${runId}.s${step}.a${attempt}.r${rank}`;
}
