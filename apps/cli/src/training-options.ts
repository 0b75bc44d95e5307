/**
 * The model, data and optimizer flags that `forge train` and `forge submit pretrain` share, with the
 * defaults of every pretraining run (PRETRAIN_DEFAULTS of @llm-forge/cluster-protocol, which
 * `POST /runs` and the dashboard use too).
 */
import { Command, Option } from 'commander';
import {
  PRETRAIN_DEFAULTS as D,
  SPEC_LIMITS as L,
  type RunSpec,
  type RunSpecInput,
} from '@llm-forge/cluster-protocol';
import { PRESET_NAMES } from '@llm-forge/gpt';
import { boundedInt, fraction, integer, nonNegativeInt, nonNegativeNumber, positiveNumber } from './options';
import { MODEL_HELP } from './references';

/** The shared flags as commander parses them. */
export interface TrainingFlags {
  /** A text file or `builtin:moby-dick`. */
  text: string;
  init?: string;
  preset: string;
  contextLength?: number;
  stride?: number;
  batchSize: number;
  /** Undefined only where a command drops the default (forge train with --epochs or --resume). */
  steps?: number;
  lr: number;
  minLr?: number;
  warmupSteps: number;
  schedule: 'constant' | 'cosine';
  weightDecay: number;
  gradClip: number;
  dropout?: number;
  shuffle: boolean;
  valFraction: number;
  evalEvery: number;
  seed: number;
  sync: 'ddp' | 'diloco';
  /** ddp: sum the gradients while backward runs (`--no-overlap` turns it off). */
  overlap: boolean;
  innerSteps: number;
  outerLr: number;
  outerMomentum: number;
  out?: string;
  json?: boolean;
}

/** Adds the shared flags to `command`; `batchHelp` says what --batch-size means there. */
export function addTrainingOptions(command: Command, batchHelp: string, textHelp: string): Command {
  return command
    .option('--text <file>', textHelp, D.text)
    .option('--init <model>', `start from this model instead of a new one: ${MODEL_HELP}`)
    .addOption(
      new Option('--preset <name>', 'model size for a new model').choices(PRESET_NAMES).default(D.preset),
    )
    .option(
      '--context-length <T>',
      'tokens per training window (default: the model context)',
      boundedInt(L.contextLength),
    )
    .option('--stride <S>', 'step between windows (default: the context length)', boundedInt(L.contextLength))
    .option('--batch-size <B>', batchHelp, boundedInt(L.batchSize), D.batchSize)
    .option('--steps <K>', 'optimizer steps', boundedInt(L.steps), D.steps)
    .option('--lr <x>', 'peak learning rate', positiveNumber, D.lr)
    .option('--min-lr <x>', 'final learning rate of the cosine (default: lr/10)', nonNegativeNumber)
    .option('--warmup-steps <W>', 'linear warmup steps', nonNegativeInt, D.warmupSteps)
    .addOption(
      new Option('--schedule <kind>', 'learning-rate schedule')
        .choices(['constant', 'cosine'])
        .default(D.schedule),
    )
    .option('--weight-decay <w>', 'AdamW decoupled weight decay', nonNegativeNumber, D.weightDecay)
    .option('--grad-clip <g>', 'global gradient-norm clip (0: none)', nonNegativeNumber, D.gradClip)
    .option('--dropout <p>', 'dropout rate (default: the preset or checkpoint)', fraction)
    .option('--no-shuffle', 'visit windows in order')
    .option(
      '--val-fraction <f>',
      'fraction of the text held out for validation (0: none)',
      fraction,
      D.valFraction,
    )
    .option(
      '--eval-every <N>',
      'evaluate train/validation loss every N steps (0: only at the end)',
      nonNegativeInt,
      D.evalEvery,
    )
    .option('--seed <N>', 'seed of initialisation, shuffling and dropout', integer, D.seed)
    .addOption(
      new Option(
        '--sync <mode>',
        'how workers synchronise: ddp (gradients every step) or diloco (an outer step every --inner-steps)',
      )
        .choices(['ddp', 'diloco'])
        .default(D.sync.mode),
    )
    .option(
      '--no-overlap',
      'ddp: sum the gradients after backward instead of while it runs (for comparisons)',
    )
    .option(
      '--inner-steps <H>',
      'diloco: local steps per outer step',
      boundedInt(L.steps),
      D.diloco.innerSteps,
    )
    .option('--outer-lr <x>', 'diloco: outer learning rate', positiveNumber, D.diloco.outerLr)
    .option('--outer-momentum <m>', 'diloco: outer Nesterov momentum', fraction, D.diloco.outerMomentum)
    .option('--json', 'print a JSON summary as the last line');
}

/** Whether the user gave `--<option>` (rather than commander filling in its default). */
export function given(command: Command, option: string): boolean {
  return command.getOptionValueSource(option) === 'cli';
}

/** How the paths of the flags reach the spec: as given (one process), or as the coordinator needs them. */
export interface SpecPaths {
  model?(ref: string): string;
  text?(ref: string): string;
}

/**
 * The run spec fields that the shared flags set, as `POST /runs` takes them: one mapping for `forge
 * train` (the spec it trains alone) and `forge submit pretrain` (the spec it submits).
 */
export function sharedSpecFields(flags: TrainingFlags, paths: SpecPaths = {}): RunSpecInput {
  const dropout = flags.dropout !== undefined ? { dropout: flags.dropout } : {};
  return {
    model: flags.init
      ? { init: paths.model?.(flags.init) ?? flags.init, ...dropout }
      : { preset: flags.preset as RunSpec['model']['preset'], ...dropout },
    data: { text: paths.text?.(flags.text) ?? flags.text, valFraction: flags.valFraction },
    optimizer: {
      lr: flags.lr,
      minLr: flags.minLr,
      warmupSteps: flags.warmupSteps,
      schedule: flags.schedule,
      weightDecay: flags.weightDecay,
      gradClip: flags.gradClip,
    },
    batchSize: flags.batchSize,
    contextLength: flags.contextLength,
    stride: flags.stride,
    steps: flags.steps,
    seed: flags.seed,
    shuffle: flags.shuffle,
    evalEvery: flags.evalEvery,
    sync:
      flags.sync === 'diloco'
        ? {
            mode: 'diloco',
            innerSteps: flags.innerSteps,
            outerLr: flags.outerLr,
            outerMomentum: flags.outerMomentum,
          }
        : { mode: 'ddp', ...(flags.overlap === false ? { overlap: false } : {}) },
  };
}
