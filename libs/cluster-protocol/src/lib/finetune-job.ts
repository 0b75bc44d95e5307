/**
 * Finetune jobs through the cluster: the body of the coordinator's `POST /finetunes`, the points of
 * its logged history, and its final evaluation. A finetune is scheduled like a pretraining run, one
 * data-parallel step at a time (queues.ts): the rank jobs of its steps carry its spec, and rank 0's
 * results carry its progress, logged points and, after the last step, its evaluation.
 */
import { z } from 'zod';
import { FINETUNE_DEFAULTS as D } from './run-defaults';
import { MODEL_PRESETS } from './run-spec';
import { limitMessage, SPEC_LIMITS as L } from './spec-limits';

/** `dataset` naming the built-in SpamAssassin corpus (classification). */
export const SPAMASSASSIN_DATASET = 'spamassassin';

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).lt(1);
/** An integer in [min, max] whose bound says it is the cluster's (SPEC_LIMITS). */
const boundedInt = (what: string, max: number, min = 1) =>
  z.number().int().min(min).max(max, limitMessage(what, max));

/** Optimisation settings; the defaults are the book's (chapters 6 and 7), FINETUNE_DEFAULTS. */
const hyperparametersSchema = z
  .object({
    /** Passes over the training split. @defaultValue 5 (classification), 2 (instruction) */
    epochs: positiveInt.max(1000).optional(),
    /** Global batch: examples per optimizer step over all ranks. */
    batchSize: boundedInt('hyperparameters.batchSize', L.batchSize).default(D.batchSize),
    lr: z.number().positive().default(D.lr),
    weightDecay: z.number().min(0).default(D.weightDecay),
    /** Truncate (and pad) examples to this many tokens. @defaultValue the longest training example, capped by the context */
    maxLength: boundedInt('hyperparameters.maxLength', L.contextLength).optional(),
  })
  .strip();

/**
 * Defaults of the spec's optional settings, applied where they are used (the finetune job, the CLI's
 * flags) rather than filled in by the schema, so that the spec hash of a job submitted before a setting
 * existed (its saved state) is unchanged.
 */
export const FINETUNE_OPTION_DEFAULTS = {
  /** Classification: the last token classifies (the book's choice). */
  pooling: 'last',
  /** Classification: validation share of each class (the book's 70/10/20 split). */
  valFraction: 0.1,
  /** Classification: test share of each class. */
  testFraction: 0.2,
  /** Classification: LoRA rank of `train: lora` without `lora.rank`. */
  loraRank: 16,
  /** Instruction: longest generated response (the book's). */
  maxNewTokens: 256,
  /** Evaluations at the ends of epochs only. */
  evalEvery: 0,
  /** Batches per loss estimate (the book's eval_iter). */
  evalBatches: 5,
} as const;
const O = FINETUNE_OPTION_DEFAULTS;

/** LoRA adapters instead of full weights (scale alpha/rank). */
const loraSchema = z.object({ rank: positiveInt.max(1024), alpha: z.number().positive().optional() }).strip();

/** An OpenAI-compatible chat endpoint that scores instruction responses 0-100 (e.g. Ollama). */
const judgeSchema = z.object({ url: z.string().url(), model: z.string().min(1) }).strip();

/** The validated and defaulted spec of a finetune job (the body of `POST /finetunes`). */
export const finetuneSpecSchema = z
  .object({
    name: z.string().max(200).optional(),
    kind: z.enum(['classification', 'instruction']),
    /** An absolute model or checkpoint directory, or `<runId>/<checkpointName>` or `<runId>/latest` of a pretraining run. */
    baseCheckpoint: z.string().min(1).optional(),
    /** Start from random weights of this preset instead (a baseline). */
    preset: z.enum(MODEL_PRESETS).optional(),
    /**
     * Classification: a CSV/TSV of `label,text` rows, or {@link SPAMASSASSIN_DATASET}; instruction: an
     * Alpaca-format JSON or JSONL file. Must be readable by every worker (a shared volume).
     */
    dataset: z.string().min(1),
    hyperparameters: hyperparametersSchema.default({}),
    /** Classification: which parameters train (`last-block`, `last-N`, `all`, `lora`). @defaultValue last-block, or lora when `lora` is given */
    train: z
      .string()
      .regex(/^(last-block|last-[1-9][0-9]*|all|lora)$/, 'one of last-block, last-N (e.g. last-2), all, lora')
      .optional(),
    lora: loraSchema.optional(),
    /** Instruction: prompt style. */
    style: z.enum(['alpaca', 'phi3']).default('alpaca'),
    /** Instruction: train on the response tokens only. */
    maskInstruction: z.boolean().default(false),
    /** Classification: downsample every class to the smallest. */
    balance: z.boolean().default(true),
    /** Classification: the labels in class order; an example with another label is an error. @defaultValue the dataset's labels, sorted */
    labels: z.array(z.string().min(1)).min(2).optional(),
    /** Classification: the token whose output classifies, the last (the book's) or the last that is not padding. @defaultValue last */
    pooling: z.enum(['last', 'last-non-pad']).optional(),
    /** Classification: validation share of each class. @defaultValue 0.1 */
    valFraction: fraction.optional(),
    /** Classification: test share of each class; the rest trains. @defaultValue 0.2 */
    testFraction: fraction.optional(),
    /** Use at most this many examples (class shares kept). */
    maxExamples: boundedInt('maxExamples', L.maxExamples).optional(),
    /** Stop after this many optimizer steps (a quick try), then evaluate and save as usual; absent: every epoch. */
    maxSteps: boundedInt('maxSteps', L.steps).optional(),
    seed: z.number().int().safe().default(D.seed),
    /** Workers that train it data-parallel. */
    workers: positiveInt.max(256).default(D.workers),
    /** Rank 0 saves resumable state every N steps (and after every epoch); 0: after epochs only. */
    checkpointEvery: boundedInt('checkpointEvery', L.steps, 0).default(D.checkpointEvery),
    /** Instruction: how many test-split responses to generate (and judge) at the end. */
    maxResponses: boundedInt('maxResponses', L.maxResponses, 0).default(D.maxResponses),
    /** Instruction: longest generated response, in tokens. @defaultValue 256 (the book's) */
    maxNewTokens: boundedInt('maxNewTokens', L.contextLength, 0).optional(),
    /**
     * Also evaluate every N steps, besides the ends of epochs (at most about 50 such evaluations per
     * job: the interval grows for long jobs); 0: at the ends of epochs only. @defaultValue 0
     */
    evalEvery: boundedInt('evalEvery', L.steps, 0).optional(),
    /**
     * Batches per loss estimate (the book's eval_iter): of the training split (both kinds) and of the
     * validation split (instruction; classification evaluates the whole split); 0: the whole split.
     * @defaultValue 5
     */
    evalBatches: boundedInt('evalBatches', L.evalBatches, 0).optional(),
    judge: judgeSchema.optional(),
  })
  .strip()
  .refine((s) => (s.baseCheckpoint === undefined) !== (s.preset === undefined), {
    message: 'give exactly one of baseCheckpoint (a checkpoint to finetune) or preset (random weights)',
    path: ['baseCheckpoint'],
  })
  .refine((s) => s.kind === 'classification' || s.dataset !== SPAMASSASSIN_DATASET, {
    message: `${SPAMASSASSIN_DATASET} is a classification dataset; give an Alpaca-format JSON file`,
    path: ['dataset'],
  })
  .refine((s) => (s.valFraction ?? O.valFraction) + (s.testFraction ?? O.testFraction) < 1, {
    message: `valFraction + testFraction (default ${O.valFraction} and ${O.testFraction}) must be below 1: the rest trains`,
    path: ['testFraction'],
  })
  .refine((s) => s.workers <= s.hyperparameters.batchSize, {
    message:
      'workers must not exceed hyperparameters.batchSize (each rank needs at least one example per step)',
    path: ['workers'],
  })
  .transform((s) => ({
    ...s,
    hyperparameters: {
      ...s.hyperparameters,
      epochs: s.hyperparameters.epochs ?? D.epochs[s.kind],
    },
    train: s.train ?? (s.lora ? 'lora' : s.kind === 'classification' ? 'last-block' : 'all'),
  }))
  .refine((s) => s.train !== 'lora' || s.lora !== undefined || s.kind === 'classification', {
    message: 'train "lora" needs lora.rank',
    path: ['lora'],
  });

/** A finetune job's specification after validation and defaults. */
export type FinetuneSpec = z.output<typeof finetuneSpecSchema>;
/** What a client may send to `POST /finetunes`. */
export type FinetuneSpecInput = z.input<typeof finetuneSpecSchema>;

/** One logged point of a finetune: the training loss of a step, and evaluations when taken. */
export const finetuneMetricSchema = z
  .object({
    /** Optimizer steps done (1-based). */
    step: positiveInt,
    epoch: positiveInt,
    /** Mean loss of this step's global batch, before its update. */
    trainLoss: z.number(),
    /**
     * At evaluations (the end of an epoch, every `evalEvery` steps): the mean loss of the model over
     * the first `evalBatches` training batches, as the validation loss is measured (the book's
     * train-loss estimate). This is an epoch's "train loss" wherever one is reported: `forge finetune
     * classify|instruct` (epoch lines, `epoch_losses`, `evals`), `forge submit finetune --wait`.
     */
    trainEvalLoss: z.number().optional(),
    valLoss: z.number().optional(),
    trainAccuracy: z.number().optional(),
    valAccuracy: z.number().optional(),
    lr: z.number().optional(),
    tokensPerSecond: z.number().optional(),
  })
  .strip();
/** One logged point of a finetune. */
export type FinetuneMetric = z.infer<typeof finetuneMetricSchema>;

/** Classification results: metrics per split, on rank 0 after training. */
export const classificationEvaluationSchema = z
  .object({
    labels: z.array(z.string()),
    /** Accuracy per split: `{ train, validation, test }`. */
    accuracy: z.record(z.number()),
    /** Test split, `confusionMatrix[actual][predicted]`, in the order of `labels`. */
    confusionMatrix: z.array(z.array(z.number())),
    /** Per split: loss, accuracy, and per-label precision, recall and F1. */
    splits: z.record(
      z.object({
        loss: z.number(),
        accuracy: z.number(),
        perLabel: z.array(
          z.object({ label: z.string(), precision: z.number(), recall: z.number(), f1: z.number() }),
        ),
      }),
    ),
  })
  .strip();

/** One generated (and maybe judged) response of an instruction finetune. */
export const judgedResponseSchema = z
  .object({
    instruction: z.string(),
    input: z.string().optional(),
    output: z.string(),
    response: z.string(),
    score: z.number().optional(),
  })
  .strip();

/** Instruction results: losses before and after, and responses to the test split. */
export const instructionEvaluationSchema = z
  .object({
    initialTrainLoss: z.number(),
    initialValLoss: z.number(),
    trainLoss: z.number(),
    valLoss: z.number(),
    responses: z.array(judgedResponseSchema),
    /** The same responses as a JSON file in the job's output directory. */
    responsesFile: z.string(),
    averageScore: z.number().optional(),
    /** Why there is no score (no judge configured, or it failed). */
    judgeNote: z.string().optional(),
  })
  .strip();

/** Classification results. */
export type ClassificationEvaluation = z.infer<typeof classificationEvaluationSchema>;
/** Instruction results. */
export type InstructionEvaluation = z.infer<typeof instructionEvaluationSchema>;
