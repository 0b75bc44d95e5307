/**
 * BullMQ queues and job payloads of the step schedule. A step is a flow: one parent job on
 * {@link STEP_QUEUE} (processed by the coordinator once every rank is done) and one child per rank,
 * each on the queue of the worker that holds that rank ({@link rankQueueName}), so a rank's job reaches
 * exactly the worker whose replica and ring position it names. Payloads come back from Redis as plain
 * JSON, so consumers re-validate them with the schemas below.
 */
import { z } from 'zod';
import { runSpecSchema } from './run-spec';

/** Queue of the parent step jobs (one per run step attempt), consumed by the coordinator. */
export const STEP_QUEUE = 'forge-steps';
/** Job name of a parent step job. */
export const STEP_JOB = 'step';
/** Job name of a rank job. */
export const RANK_JOB = 'rank-step';

/** Worker ids become queue names and Redis keys: letters, digits, `.`, `_` and `-` only. */
export const WORKER_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** The queue a worker takes its rank jobs from. */
export function rankQueueName(workerId: string): string {
  if (!WORKER_ID_PATTERN.test(workerId)) {
    throw new Error(
      `invalid worker id ${JSON.stringify(workerId)}: use 1-128 letters, digits, '.', '_' or '-'`,
    );
  }
  return `forge-rank-${workerId}`;
}

const stepFields = {
  runId: z.string().min(1),
  /** 0-based optimizer step: the number of steps the replicas have applied before this one. */
  step: z.number().int().min(0),
  /** Attempt counter of the run; grows with every (re)formation of the ring, never reset. */
  attempt: z.number().int().min(0),
  /** Number of ranks. */
  worldSize: z.number().int().positive(),
};

/** Payload of a parent step job. */
export const stepJobSchema = z.object(stepFields).strict();
/** Payload of a parent step job. */
export type StepJobData = z.infer<typeof stepJobSchema>;

/** One member of the ring, in rank order. */
export const ringPeerSchema = z.object({ workerId: z.string().min(1), address: z.string().min(1) }).strict();
/** One member of the ring. */
export type RingPeer = z.infer<typeof ringPeerSchema>;

/** Payload of one rank's job: everything a worker needs to take the step, even after a restart. */
export const rankJobSchema = z
  .object({
    ...stepFields,
    rank: z.number().int().min(0),
    /** Every rank's worker and collective address; rank r sends to rank (r + 1) mod worldSize. */
    peers: z.array(ringPeerSchema).min(1),
    spec: runSpecSchema,
    /** Directory the run's checkpoints live in (shared by every worker). */
    checkpointDir: z.string().min(1),
    /**
     * Checkpoint directory to load before the step (its step must equal `step`); absent: continue
     * from the replica in memory, or initialise from the spec at step 0.
     */
    resumeFrom: z.string().min(1).optional(),
    /** Rank 0 writes a checkpoint after this step. */
    saveCheckpoint: z.boolean(),
    /** Rank 0 estimates train and validation loss (and a sample) after this step. */
    evaluate: z.boolean(),
  })
  .strict()
  .refine((j) => j.rank < j.worldSize, { message: 'rank must be below worldSize', path: ['rank'] })
  .refine((j) => j.peers.length === j.worldSize, {
    message: 'peers must list one member per rank',
    path: ['peers'],
  });
/** Payload of one rank's job. */
export type RankJobData = z.infer<typeof rankJobSchema>;

/** What a rank reports after a successful step. */
export const rankSuccessSchema = z
  .object({
    ok: z.literal(true),
    workerId: z.string(),
    rank: z.number().int(),
    step: z.number().int(),
    /** Steps the replica has applied now (step + 1). */
    appliedSteps: z.number().int(),
    loss: z.number(),
    localLoss: z.number(),
    tokens: z.number(),
    lr: z.number(),
    gradNorm: z.number(),
    computeMs: z.number(),
    commMs: z.number(),
    bytesSent: z.number(),
    /** Wall time of the whole job on the worker (load, compute, communication, checkpoint). */
    jobMs: z.number(),
    verified: z.boolean(),
    eval: z.object({ trainLoss: z.number(), valLoss: z.number().optional() }).optional(),
    sample: z.string().optional(),
    checkpoint: z.object({ name: z.string(), path: z.string(), step: z.number().int() }).optional(),
  })
  .strict();

/**
 * Why a step failed: `transient` (a peer failed or timed out: retry), `state` (the worker holds no
 * replica at this step: resume from a checkpoint), `checkpoint` (the checkpoint to resume from is
 * unusable: fall back to an older one), `fatal` (bad data or spec, divergence: fail the run).
 */
export const FAILURE_KINDS = ['transient', 'state', 'checkpoint', 'fatal'] as const;
/** Why a step failed. */
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** What a rank reports after a failed step (rank jobs never throw, so the parent always runs). */
export const rankFailureSchema = z
  .object({
    ok: z.literal(false),
    workerId: z.string(),
    rank: z.number().int(),
    step: z.number().int(),
    /** Steps the worker's replica of this run has applied, or null when it holds none. */
    appliedSteps: z.number().int().nullable(),
    kind: z.enum(FAILURE_KINDS),
    error: z.string(),
    /** The file or directory the error is about (a corrupt shard or checkpoint). */
    file: z.string().optional(),
  })
  .strict();

/** What a rank reports. */
export const rankResultSchema = z.discriminatedUnion('ok', [rankSuccessSchema, rankFailureSchema]);
/** What a rank reports. */
export type RankResult = z.infer<typeof rankResultSchema>;
/** A successful rank's report. */
export type RankSuccess = z.infer<typeof rankSuccessSchema>;
/** A failed rank's report. */
export type RankFailure = z.infer<typeof rankFailureSchema>;

/** Validates a payload read back from Redis; throws an Error naming every bad field. */
export function parsePayload<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, what: string, data: unknown): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
    throw new Error(`invalid ${what}: ${why.join('; ')}`);
  }
  return parsed.data;
}

/** Validates a rank job's payload read back from Redis; throws naming the bad field. */
export function parseRankJob(data: unknown): RankJobData {
  return parsePayload(rankJobSchema, 'rank job payload', data);
}

/** Id of a run step's parent job; deterministic so that a step is never enqueued twice. */
export function stepJobId(runId: string, step: number, attempt: number): string {
  return `${runId}.s${step}.a${attempt}`;
}

/** Id of one rank's job in a step. */
export function rankJobId(runId: string, step: number, attempt: number, rank: number): string {
  return `${runId}.s${step}.a${attempt}.r${rank}`;
}

/** The shared secret a local (single-machine, loopback-only) cluster uses when none is configured. */
export const LOCAL_CLUSTER_SECRET = 'forge-local-cluster';
