/**
 * BullMQ queues and job payloads of the step schedule, the one scheduling model of every kind of
 * training job (a pretraining run, a finetune). A job's steps run as flows: one parent job on
 * {@link STEP_QUEUE} (processed by the coordinator once every rank is done) and one child per rank,
 * each on the queue of the worker that holds that rank ({@link rankQueueName}), so a rank's job reaches
 * exactly the worker whose replica and ring position it names. A flow covers the steps between two
 * meetings of the ranks, [step, endStep): one step in DDP and finetunes, one outer step's inner steps
 * in DiLoCo (`runJobEnd`). Payloads come back from Redis as plain JSON, so consumers re-validate them
 * with the schemas below.
 */
import { z } from 'zod';
import {
  classificationEvaluationSchema,
  finetuneMetricSchema,
  finetuneSpecSchema,
  instructionEvaluationSchema,
} from './finetune-job';
import { runSpecSchema } from './run-spec';

/** The kinds of training job the coordinator schedules: `run` (pretraining) and `finetune`. */
export const JOB_KINDS = ['run', 'finetune'] as const;
/** A kind of training job. */
export type JobKind = (typeof JOB_KINDS)[number];

/** Queue of the parent step jobs (one per job step attempt), consumed by the coordinator. */
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
  kind: z.enum(JOB_KINDS),
  /** The run's or the finetune's id. */
  jobId: z.string().min(1),
  /** 0-based optimizer step: the number of steps the replicas have applied before this one. */
  step: z.number().int().min(0),
  /**
   * End (exclusive) of the steps the job covers, [step, endStep): step + 1 in DDP and finetunes; in
   * DiLoCo the next outer step (`runJobEnd`), so the ranks meet only where they communicate.
   */
  endStep: z.number().int().positive(),
  /** Attempt counter of the job; grows with every (re)formation of the ring, never reset. */
  attempt: z.number().int().min(0),
  /** Number of ranks. */
  worldSize: z.number().int().positive(),
};

const coversSteps = { message: 'endStep must be above step', path: ['endStep'] };

/** Payload of a parent step job. */
export const stepJobSchema = z
  .object(stepFields)
  .strict()
  .refine((j) => j.endStep > j.step, coversSteps);
/** Payload of a parent step job. */
export type StepJobData = z.infer<typeof stepJobSchema>;

/** One member of the ring, in rank order. */
export const ringPeerSchema = z.object({ workerId: z.string().min(1), address: z.string().min(1) }).strict();
/** One member of the ring. */
export type RingPeer = z.infer<typeof ringPeerSchema>;

const rankFields = {
  ...stepFields,
  rank: z.number().int().min(0),
  /** Every rank's worker and collective address; rank r sends to rank (r + 1) mod worldSize. */
  peers: z.array(ringPeerSchema).min(1),
  /**
   * Checkpoint directory to load before the step (its step must equal `step`); absent: continue
   * from the replica in memory, or initialise from the spec at step 0.
   */
  resumeFrom: z.string().min(1).optional(),
};

/**
 * A pretraining run's rank job. What a rank does besides the step — evaluate, sample, write a
 * checkpoint — follows from the spec's cadence (`evalEvery`, `checkpointEvery`, the last step).
 */
const runRankJobSchema = z
  .object({
    ...rankFields,
    kind: z.literal('run'),
    spec: runSpecSchema,
    /** Directory the run's checkpoints live in (shared by every worker). */
    checkpointDir: z.string().min(1),
  })
  .strict();

/**
 * A finetune's rank job. Evaluations, resumable states (`<outDir>/state/step-NNNNNN`) and, after the
 * last step, the final evaluation and the model follow from the spec.
 */
const finetuneRankJobSchema = z
  .object({
    ...rankFields,
    kind: z.literal('finetune'),
    /** The spec with `baseCheckpoint` resolved to an absolute directory. */
    spec: finetuneSpecSchema,
    /** Directory of the job's outputs (shared by every worker): `state/`, `model/`, `responses.json`. */
    outDir: z.string().min(1),
  })
  .strict();

/** Payload of one rank's job: everything a worker needs to take the step, even after a restart. */
export const rankJobSchema = z
  .discriminatedUnion('kind', [runRankJobSchema, finetuneRankJobSchema])
  .refine((j) => j.endStep > j.step, coversSteps)
  .refine((j) => j.rank < j.worldSize, { message: 'rank must be below worldSize', path: ['rank'] })
  .refine((j) => j.peers.length === j.worldSize, {
    message: 'peers must list one member per rank',
    path: ['peers'],
  });
/** Payload of one rank's job. */
export type RankJobData = z.infer<typeof rankJobSchema>;
/** A pretraining run's rank job. */
export type RunRankJobData = Extract<RankJobData, { kind: 'run' }>;
/** A finetune's rank job. */
export type FinetuneRankJobData = Extract<RankJobData, { kind: 'finetune' }>;

/** What rank 0 of a finetune reports with every step. */
export const finetuneStepReportSchema = z
  .object({
    /** Steps of the whole job (known once the data is loaded). */
    totalSteps: z.number().int().positive(),
    /** 1-based epoch of the step just taken. */
    epoch: z.number().int().min(0),
    trainableParameters: z.number().int().min(0),
    totalParameters: z.number().int().min(0),
    /** The point logged at this step (every few steps, and at every evaluation). */
    logged: finetuneMetricSchema.optional(),
    /** After the last step: where the finetuned model was saved. */
    modelDir: z.string().optional(),
    /** After the last step: the final evaluation. */
    evaluation: z.union([classificationEvaluationSchema, instructionEvaluationSchema]).optional(),
  })
  .strict();
/** What rank 0 of a finetune reports with every step. */
export type FinetuneStepReport = z.infer<typeof finetuneStepReportSchema>;

/**
 * What a rank did in one step of its job: a job reports one per step it covered, in order (one in
 * DDP). The coordinator records a run's step history from these (its field names are the history's).
 */
export const rankStepReportSchema = z
  .object({
    /** 0-based step index. */
    step: z.number().int(),
    /**
     * The step's loss as this rank's loop gives it: the global batch's mean where the ranks
     * all-reduced it (DDP); in DiLoCo, which loss the loop gives on inner steps is the loop's
     * business: the coordinator records the mean of the ranks' `localLoss` instead.
     */
    loss: z.number(),
    /** Mean loss over this rank's share. */
    localLoss: z.number(),
    /** Tokens of this rank's share (a run's ranks count them; the weight of `localLoss` in a mean). */
    localTokens: z.number().optional(),
    /** Tokens of the global batch. */
    tokens: z.number(),
    lr: z.number(),
    gradNorm: z.number(),
    computeMs: z.number(),
    commMs: z.number(),
    /**
     * Wall time of the step's training on this rank: its batch, forward, backward, the waits for
     * communication, the update (and, ending an outer step, the outer step); not the evaluation,
     * sample or checkpoint after it, nor the job's start. Absent from workers before it was added.
     */
    wallMs: z.number().min(0).optional(),
    bytesSent: z.number(),
    verified: z.boolean(),
    /** A run's rank 0 at an evaluation: train and validation loss estimates, and a greedy sample. */
    eval: z.object({ trainLoss: z.number(), valLoss: z.number().optional() }).optional(),
    sample: z.string().optional(),
    /** Rank 0: the checkpoint (a run's) or resumable state (a finetune's) written after this step. */
    checkpoint: z.object({ name: z.string(), path: z.string(), step: z.number().int() }).optional(),
    /** A finetune's rank 0. */
    finetune: finetuneStepReportSchema.optional(),
  })
  .strict();
/** What a rank did in one step of its job. */
export type RankStepReport = z.infer<typeof rankStepReportSchema>;

/** What a rank reports after its job's steps all succeeded. */
export const rankSuccessSchema = z
  .object({
    ok: z.literal(true),
    workerId: z.string(),
    rank: z.number().int(),
    /** The job's first step. */
    step: z.number().int(),
    /** Steps the replica has applied now (the job's endStep). */
    appliedSteps: z.number().int(),
    /** Wall time of the whole job on the worker (load, compute, communication, checkpoints). */
    jobMs: z.number(),
    /** One report per step the job covered, in order. */
    steps: z.array(rankStepReportSchema).min(1),
  })
  .strict();

/** The fields of a one-step success of workers before `steps`, moved into a list of one. */
const SINGLE_STEP_FIELDS = new Set(Object.keys(rankStepReportSchema.shape));

/**
 * A success without `steps` (the one-step result of a worker or tool written before jobs covered
 * several steps) as a list of one; anything else unchanged.
 */
function withStepList(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const result = value as Record<string, unknown>;
  if (result.ok !== true || 'steps' in result) return result;
  const job: Record<string, unknown> = { step: result.step };
  const step: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(result)) (SINGLE_STEP_FIELDS.has(key) ? step : job)[key] = v;
  return { ...job, steps: [step] };
}

/**
 * Why a step failed: `transient` (a peer failed or timed out: retry), `state` (the worker holds no
 * replica at this step: resume from a checkpoint), `checkpoint` (the checkpoint to resume from is
 * unusable: fall back to an older one), `fatal` (bad data or spec, divergence: fail the job).
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
    /** Steps the worker's replica of this job has applied, or null when it holds none. */
    appliedSteps: z.number().int().nullable(),
    kind: z.enum(FAILURE_KINDS),
    error: z.string(),
    /** The file or directory the error is about (a corrupt shard or checkpoint). */
    file: z.string().optional(),
  })
  .strict();

/** What a rank reports. */
export const rankResultSchema = z.preprocess(
  withStepList,
  z.discriminatedUnion('ok', [rankSuccessSchema, rankFailureSchema]),
);
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

/** Id of a job step's parent job (the flow from `step`); deterministic so that a step is never enqueued twice. */
export function stepJobId(jobId: string, step: number, attempt: number): string {
  return `${jobId}.s${step}.a${attempt}`;
}

/**
 * How a worker names the job attempt it is running in its heartbeats (`<jobId>.a<attempt>`), so that
 * the coordinator can tell it to stop an attempt that was cancelled, paused or superseded: between
 * the steps of a job, or during a finetune's long final evaluation.
 */
export function jobAttemptId(jobId: string, attempt: number): string {
  return `${jobId}.a${attempt}`;
}

/** Id of one rank's job in a step. */
export function rankJobId(jobId: string, step: number, attempt: number, rank: number): string {
  return `${jobId}.s${step}.a${attempt}.r${rank}`;
}

/** The shared secret a local (single-machine, loopback-only) cluster uses when none is configured. */
export const LOCAL_CLUSTER_SECRET = 'forge-local-cluster';
