/**
 * What `forge finetune classify` and `forge finetune instruct` share: the job spec of their flags
 * (what `POST /finetunes` takes), and the finetune job engine at world size 1 (`SINGLE_PROCESS`,
 * no resumable state, the model saved in `--out` itself) with a progress bar and a Ctrl-C that
 * ends training after the current step.
 */
import * as fs from 'fs';
import { Option, type Command } from 'commander';
import {
  FINETUNE_OPTION_DEFAULTS as O,
  finetuneSpecSchema,
  type FinetuneMetric,
  type FinetuneSpec,
  type FinetuneSpecInput,
} from '@llm-forge/cluster-protocol';
import { trainFinetuneJob, type JobTask, type TrainedJob } from '@llm-forge/finetune';
import { ForgeError } from '@llm-forge/gpt';
import { SINGLE_PROCESS } from '@llm-forge/training';
import { fraction, nonNegativeInt, positiveInt } from '../options';
import { stopOnInterrupt, TrainProgress } from '../progress';

/** Flags both commands take to choose their base and output. */
export interface FinetuneBaseFlags {
  model?: string;
  preset?: string;
  out: string;
  overwrite?: boolean;
}

/** Refuses an existing `--out` without `--overwrite`, and anything but exactly one base. */
export function checkBaseAndOut(flags: FinetuneBaseFlags): void {
  if (fs.existsSync(flags.out) && !flags.overwrite) {
    throw new ForgeError(
      `${flags.out} already exists`,
      'pass --overwrite to replace it or choose another --out',
    );
  }
  checkOneBase(flags);
}

/** Refuses anything but exactly one of --model and --preset. */
export function checkOneBase(flags: { model?: string; preset?: string }): void {
  if (!flags.model === !flags.preset) {
    throw new ForgeError(
      'give exactly one of --model <dir> (a checkpoint) or --preset <name> (random weights)',
    );
  }
}

/** The optimisation flags of every finetune command (`forge finetune`, `forge submit finetune`). */
export interface FinetuneHyperparameterFlags {
  /** Absent: the kind's default (the spec fills it in). */
  epochs?: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  maxLength?: number;
}

/** The spec's `hyperparameters` of the flags. */
export function hyperparametersOf(flags: FinetuneHyperparameterFlags): FinetuneSpecInput['hyperparameters'] {
  const { epochs, batchSize, lr, weightDecay, maxLength } = flags;
  return { epochs, batchSize, lr, weightDecay, maxLength };
}

/** The base of a spec: `--model`'s directory or `--preset`'s random weights. */
export function baseOf(flags: FinetuneBaseFlags): Pick<FinetuneSpecInput, 'baseCheckpoint' | 'preset'> {
  return flags.model
    ? { baseCheckpoint: flags.model }
    : { preset: flags.preset as FinetuneSpecInput['preset'] };
}

/** Validates and defaults a spec built from flags; a bad value is one line naming the field. */
export function parseSpec(input: FinetuneSpecInput): FinetuneSpec {
  const parsed = finetuneSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ForgeError(`${issue.path.join('.') || 'flags'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Options of {@link finetuneAlone}. */
export interface AloneOptions {
  /** `--out`: the model is saved there (the job's `<outDir>/model` is `--out` itself). */
  out: string;
  json?: boolean;
  /** The line printed for a point of the history that holds an evaluation. */
  evalLine(point: FinetuneMetric): string;
}

/** Adds `--max-steps` to a finetune command. */
export function addMaxStepsOption(command: Command): Command {
  return command.option(
    '--max-steps <N>',
    'stop after N optimizer steps, then evaluate and save as usual (a quick try; default: every epoch)',
    positiveInt,
  );
}

/**
 * Trains `task` (built from `spec`) by the job engine at world size 1: the bar follows the job's
 * progress reports, each evaluation prints a line, the first Ctrl-C ends training after the
 * current step (the caller still evaluates and saves), a second one quits.
 */
export async function finetuneAlone<T extends JobTask>(
  spec: FinetuneSpec,
  task: T,
  options: AloneOptions,
): Promise<TrainedJob<T>> {
  const totalSteps = Math.min(task.stepsPerEpoch * spec.hyperparameters.epochs, spec.maxSteps ?? Infinity);
  const progress = new TrainProgress(totalSteps, 0, Boolean(options.json));
  const interrupt = stopOnInterrupt(progress, 'stopping after this step, then saving');
  let seen = 0;
  try {
    return await trainFinetuneJob(
      spec,
      {
        collective: SINGLE_PROCESS,
        outDir: options.out,
        modelDir: options.out,
        resumable: false,
        onProgress: ({ step, totalSteps, history }) => {
          const last = history[history.length - 1];
          progress.step(step, totalSteps, last.trainLoss, last.tokensPerSecond);
          for (const p of history.slice(seen)) {
            if (p.valLoss !== undefined || p.trainEvalLoss !== undefined) progress.log(options.evalLine(p));
          }
          seen = history.length;
        },
        stopTraining: () => interrupt.signal.aborted,
        log: (message, fields) => progress.log(logLine(message, fields)),
      },
      task,
    );
  } finally {
    interrupt.dispose();
    progress.stop();
  }
}

/** A job's log message with its numeric fields: `losses before training (trainLoss 10.8, ...)`. */
export function logLine(message: string, fields: Record<string, unknown> = {}): string {
  const numbers = Object.entries(fields).filter(([, v]) => typeof v === 'number');
  if (numbers.length === 0) return message;
  return `${message} (${numbers.map(([k, v]) => `${k} ${(v as number).toFixed(4)}`).join(', ')})`;
}

/** Mean tokens per second over the logged steps (padding included), 0 when none was logged. */
export function meanTokensPerSecond(history: readonly FinetuneMetric[]): number {
  const rates = history.map((p) => p.tokensPerSecond).filter((r): r is number => r !== undefined);
  return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
}

/** How a classification job reads its data: the flags `forge finetune classify` and `forge submit finetune classify` share. */
export interface ClassificationDataFlags {
  pooling: 'last' | 'last-non-pad';
  labels?: string;
  valFraction: number;
  testFraction: number;
}

/** Adds the {@link ClassificationDataFlags} to a command. */
export function addClassificationDataOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--pooling <where>', 'token whose output classifies')
        .choices(['last', 'last-non-pad'])
        .default(O.pooling),
    )
    .option('--labels <list>', 'comma-separated labels in class order; others are an error (default: sorted)')
    .option('--val-fraction <f>', 'validation share of each class', fraction, O.valFraction)
    .option('--test-fraction <f>', 'test share of each class', fraction, O.testFraction);
}

/** The spec fields of the {@link ClassificationDataFlags}. */
export function classificationDataFields(flags: ClassificationDataFlags): Partial<FinetuneSpecInput> {
  return {
    labels: flags.labels?.split(',').map((l) => l.trim()),
    pooling: flags.pooling,
    valFraction: flags.valFraction,
    testFraction: flags.testFraction,
  };
}

/** When an instruction job evaluates, and how long its responses get. */
export interface InstructionEvalFlags {
  evalEvery: number;
  evalBatches: number;
  maxNewTokens: number;
}

/**
 * Adds the {@link InstructionEvalFlags} to a command; `evalEvery` defaults to `evalEveryDefault` (the
 * book's 5 steps in one process; epoch ends only for a cluster job, to keep it cheap).
 */
export function addInstructionEvalOptions(command: Command, evalEveryDefault: number): Command {
  return command
    .option(
      '--eval-every <N>',
      'train/validation loss every N steps, and at the end of each epoch (0: there only)',
      nonNegativeInt,
      evalEveryDefault,
    )
    .option(
      '--eval-batches <N>',
      'batches per loss estimate (0: the whole split)',
      nonNegativeInt,
      O.evalBatches,
    )
    .option('--max-new-tokens <N>', 'longest generated response', nonNegativeInt, O.maxNewTokens);
}

/** The spec fields of the {@link InstructionEvalFlags}. */
export function instructionEvalFields(flags: InstructionEvalFlags): Partial<FinetuneSpecInput> {
  return { evalEvery: flags.evalEvery, evalBatches: flags.evalBatches, maxNewTokens: flags.maxNewTokens };
}
