/**
 * The spec of a pretraining run, the body of the coordinator's `POST /runs`: the flags of `forge train`
 * (apps/cli/src/commands/train.ts) as JSON, plus the cluster fields (workers, checkpoint interval and
 * retention, wire encoding). Defaults are PRETRAIN_DEFAULTS (run-defaults.ts), the same as `forge train`'s, so `{}`
 * is the quick start's run. Workers receive the validated spec in every rank job and validate it again.
 */
import { z } from 'zod';
import { PRETRAIN_DEFAULTS as D } from './run-defaults';
import { limitMessage, SPEC_LIMITS as L } from './spec-limits';

/**
 * Model presets of `@llm-forge/gpt` (its PRESET_NAMES). Copied rather than imported so that the coordinator
 * does not load the tensor backend; keep in sync with libs/gpt/src/lib/model/config.ts.
 */
export const MODEL_PRESETS = ['gpt2-small', 'gpt2-medium', 'gpt2-large', 'gpt2-xl', 'tiny', 'small'] as const;

/** Each preset's context length (copied likewise): a run may train on windows up to this long. */
export const PRESET_CONTEXT_LENGTHS: Readonly<Record<(typeof MODEL_PRESETS)[number], number>> = {
  'gpt2-small': 1024,
  'gpt2-medium': 1024,
  'gpt2-large': 1024,
  'gpt2-xl': 1024,
  tiny: 64,
  small: 256,
};

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).max(1);
/** A positive integer of at most `max`: steps, batch, context and the like (SPEC_LIMITS). */
const boundedInt = (what: string, max: number, min = 1) =>
  z.number().int().min(min).max(max, limitMessage(what, max));
/** Step counts and intervals: 0 to the largest run. */
const stepCount = (what: string) => boundedInt(what, L.steps, 0);

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
  .transform((m) => ({ ...m, preset: m.init ? undefined : (m.preset ?? D.preset) }));

/**
 * Training data: a manifest directory written by `forge prepare`, or one UTF-8 text file (or
 * `builtin:moby-dick`, the default). Paths must be readable by every worker (a shared volume).
 */
const dataSchema = z
  .object({
    manifest: z.string().min(1).optional(),
    text: z.string().min(1).optional(),
    valFraction: fraction.default(D.valFraction),
  })
  .strip()
  .refine((d) => (d.manifest === undefined) !== (d.text === undefined), {
    message: 'give exactly one of data.manifest (a prepared manifest directory) or data.text (a text file)',
    path: ['manifest'],
  });

/** AdamW and the learning-rate schedule. */
const optimizerSchema = z
  .object({
    lr: z.number().positive().default(D.lr),
    minLr: z.number().min(0).optional(),
    warmupSteps: stepCount('warmupSteps').default(D.warmupSteps),
    schedule: z.enum(['constant', 'cosine']).default(D.schedule),
    weightDecay: z.number().min(0).default(D.weightDecay),
    gradClip: z.number().min(0).default(D.gradClip),
  })
  .strip()
  .transform((o) => ({ ...o, minLr: o.minLr ?? o.lr / 10 }))
  .refine((o) => o.minLr <= o.lr, { message: 'minLr must not exceed lr', path: ['minLr'] });

/**
 * How the ranks synchronise: `{ mode: 'ddp' }` (the gradients summed every step, while backward
 * runs unless `overlap: false`: N workers take the one-process steps) or `{ mode: 'diloco', innerSteps, outerLr, outerMomentum }` (each worker
 * takes `innerSteps` AdamW steps on its own slice of every global batch, then the workers average
 * their parameter change and take one outer Nesterov step: 1/innerSteps of the communication).
 * `steps` counts inner steps of the global batch either way, so both modes see the same tokens.
 */
const syncSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('ddp'), overlap: z.boolean().optional() }).strip(),
  z
    .object({
      mode: z.literal('diloco'),
      innerSteps: boundedInt('innerSteps', L.steps).default(D.diloco.innerSteps),
      outerLr: z.number().positive().max(10).default(D.diloco.outerLr),
      outerMomentum: z.number().min(0).lt(1).default(D.diloco.outerMomentum),
    })
    .strip(),
]);

/** The validated and defaulted spec of a run (the body of `POST /runs`). */
export const runSpecSchema = z
  .object({
    name: z.string().max(200).optional(),
    model: modelSchema.default({}),
    data: dataSchema.default({ text: D.text }),
    optimizer: optimizerSchema.default({}),
    /** Global batch: windows per optimizer step over all workers. */
    batchSize: boundedInt('batchSize', L.batchSize).default(D.batchSize),
    contextLength: boundedInt('contextLength', L.contextLength).optional(),
    stride: boundedInt('stride', L.contextLength).optional(),
    steps: boundedInt('steps', L.steps).default(D.steps),
    workers: positiveInt.max(256).default(D.workers),
    checkpointEvery: stepCount('checkpointEvery').default(D.checkpointEvery),
    // Safe integers only: 1e300 is an "integer" to JavaScript, but no seed the RNG can hold.
    seed: z.number().int().safe().default(D.seed),
    shuffle: z.boolean().default(D.shuffle),
    evalEvery: stepCount('evalEvery').default(D.evalEvery),
    /** Batches per validation-loss estimate (rank 0 computes it). */
    evalBatches: boundedInt('evalBatches', L.evalBatches).default(D.evalBatches),
    /** Rows per forward/backward on a worker; a larger slice is accumulated over micro-batches. */
    microBatchSize: boundedInt('microBatchSize', L.batchSize).optional(),
    /** How many step checkpoints to keep (the newest; the final one is always kept). */
    keepCheckpoints: boundedInt('keepCheckpoints', L.keepCheckpoints).default(D.keepCheckpoints),
    /** Gradient encoding on the all-reduce wire: bf16 halves the bytes. */
    wireDType: z.enum(['f32', 'bf16']).default(D.wireDType),
    /** Compare replica checksums every N steps (0: never; DiLoCo: after outer steps only). */
    verifyEvery: stepCount('verifyEvery').default(D.verifyEvery),
    sync: syncSchema.default(D.sync),
    out: z.string().min(1).optional(),
  })
  .strip()
  .refine((r) => r.workers <= r.batchSize, {
    message: 'workers must not exceed batchSize (each worker needs at least one window per step)',
    path: ['workers'],
  })
  .superRefine((r, ctx) => {
    // Refused here rather than by every worker at its first step, after the run was scheduled
    // (a context beyond the cluster's limit has its own message already).
    const max = r.model.preset && PRESET_CONTEXT_LENGTHS[r.model.preset];
    const given = r.contextLength ?? 0;
    if (max && given > max && given <= L.contextLength) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `contextLength ${r.contextLength} exceeds the ${r.model.preset} preset's context of ${max} tokens: give at most ${max}, or a preset with a longer context`,
        path: ['contextLength'],
      });
    }
  });

/** A run's specification after validation and defaults. */
export type RunSpec = z.output<typeof runSpecSchema>;
/** What a client may send to `POST /runs`. */
export type RunSpecInput = z.input<typeof runSpecSchema>;
