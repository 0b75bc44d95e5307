/**
 * The spec of a pretraining run, the body of the coordinator's `POST /runs`: the flags of `forge train`
 * (apps/cli/src/commands/train.ts) as JSON, plus the cluster fields (workers, checkpoint interval and
 * retention, wire encoding). Defaults are those of `forge train`. Workers receive the validated spec
 * in every rank job and validate it again.
 */
import { z } from 'zod';

/**
 * Model presets of `@llm-forge/gpt` (its PRESET_NAMES). Copied rather than imported so that the coordinator
 * does not load the tensor backend; keep in sync with libs/gpt/src/lib/model/config.ts.
 */
export const MODEL_PRESETS = ['gpt2-small', 'gpt2-medium', 'gpt2-large', 'gpt2-xl', 'tiny', 'small'] as const;

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().min(0);
const fraction = z.number().min(0).max(1);

/** Where the model comes from: a named preset or an existing checkpoint directory. */
const modelSchema = z
  .object({
    preset: z.enum(MODEL_PRESETS).optional(),
    init: z.string().min(1, 'init must be a checkpoint directory').optional(),
    resume: z.boolean().default(false),
    dropout: fraction.optional(),
  })
  .strip()
  .refine((m) => !(m.preset && m.init), { message: 'give either preset or init, not both', path: ['init'] })
  .refine((m) => !m.resume || m.init !== undefined, { message: 'resume needs init', path: ['resume'] })
  .transform((m) => ({ ...m, preset: m.init ? undefined : (m.preset ?? 'tiny') }));

/** `data.text` naming the built-in corpus (Moby Dick) instead of a file. */
export const BUILTIN_TEXT = 'builtin:moby-dick';

/**
 * Training data: a manifest directory written by `forge prepare`, or one UTF-8 text file (or
 * {@link BUILTIN_TEXT}). Paths must be readable by every worker (a shared volume).
 */
const dataSchema = z
  .object({
    manifest: z.string().min(1).optional(),
    text: z.string().min(1).optional(),
    valFraction: fraction.default(0.1),
  })
  .strip()
  .refine((d) => (d.manifest === undefined) !== (d.text === undefined), {
    message: 'give exactly one of data.manifest (a prepared manifest directory) or data.text (a text file)',
    path: ['manifest'],
  });

/** AdamW and the learning-rate schedule. */
const optimizerSchema = z
  .object({
    lr: z.number().positive().default(4e-4),
    minLr: z.number().min(0).optional(),
    warmupSteps: nonNegativeInt.default(0),
    schedule: z.enum(['constant', 'cosine']).default('cosine'),
    weightDecay: z.number().min(0).default(0.1),
    gradClip: z.number().min(0).default(1),
  })
  .strip()
  .transform((o) => ({ ...o, minLr: o.minLr ?? o.lr / 10 }))
  .refine((o) => o.minLr <= o.lr, { message: 'minLr must not exceed lr', path: ['minLr'] });

/** The validated and defaulted spec of a run (the body of `POST /runs`). */
export const runSpecSchema = z
  .object({
    name: z.string().max(200).optional(),
    model: modelSchema.default({}),
    data: dataSchema,
    optimizer: optimizerSchema.default({}),
    /** Global batch: windows per optimizer step over all workers. */
    batchSize: positiveInt.default(4),
    contextLength: positiveInt.optional(),
    stride: positiveInt.optional(),
    steps: positiveInt,
    workers: positiveInt.max(256).default(1),
    checkpointEvery: nonNegativeInt.default(0),
    seed: z.number().int().default(123),
    shuffle: z.boolean().default(true),
    evalEvery: nonNegativeInt.default(50),
    /** Batches per validation-loss estimate (rank 0 computes it). */
    evalBatches: positiveInt.default(5),
    /** Rows per forward/backward on a worker; a larger slice is accumulated over micro-batches. */
    microBatchSize: positiveInt.optional(),
    /** How many step checkpoints to keep (the newest; the final one is always kept). */
    keepCheckpoints: positiveInt.default(3),
    /** Gradient encoding on the all-reduce wire: bf16 halves the bytes. */
    wireDType: z.enum(['f32', 'bf16']).default('f32'),
    /** Compare replica checksums every N steps (0: never). */
    verifyEvery: nonNegativeInt.default(100),
    out: z.string().min(1).optional(),
  })
  .strip()
  .refine((r) => r.workers <= r.batchSize, {
    message: 'workers must not exceed batchSize (each worker needs at least one window per step)',
    path: ['workers'],
  });

/** A run's specification after validation and defaults. */
export type RunSpec = z.output<typeof runSpecSchema>;
/** What a client may send to `POST /runs`. */
export type RunSpecInput = z.input<typeof runSpecSchema>;
