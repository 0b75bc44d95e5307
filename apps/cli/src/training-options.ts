/** The model, data and optimizer flags that `forge train` and `forge submit pretrain` share. */
import { Command, Option } from 'commander';
import { PRESET_NAMES } from '@llm-forge/gpt';
import { fraction, integer, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './options';

/** The shared flags as commander parses them. */
export interface TrainingFlags {
  text?: string;
  init?: string;
  preset: string;
  contextLength?: number;
  stride?: number;
  batchSize: number;
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
  out?: string;
  json?: boolean;
}

/** Adds the shared flags to `command`; `batchHelp` says what --batch-size means there. */
export function addTrainingOptions(command: Command, batchHelp: string, textHelp: string): Command {
  return command
    .option('--text <file>', textHelp)
    .option('--init <dir>', 'start from this checkpoint instead of a new model')
    .addOption(
      new Option('--preset <name>', 'model size for a new model').choices(PRESET_NAMES).default('tiny'),
    )
    .option('--context-length <T>', 'tokens per training window (default: the model context)', positiveInt)
    .option('--stride <S>', 'step between windows (default: the context length)', positiveInt)
    .option('--batch-size <B>', batchHelp, positiveInt, 4)
    .option('--steps <K>', 'optimizer steps', positiveInt)
    .option('--lr <x>', 'peak learning rate', positiveNumber, 4e-4)
    .option('--min-lr <x>', 'final learning rate of the cosine (default: lr/10)', nonNegativeNumber)
    .option('--warmup-steps <W>', 'linear warmup steps', nonNegativeInt, 0)
    .addOption(
      new Option('--schedule <kind>', 'learning-rate schedule')
        .choices(['constant', 'cosine'])
        .default('cosine'),
    )
    .option('--weight-decay <w>', 'AdamW decoupled weight decay', nonNegativeNumber, 0.1)
    .option('--grad-clip <g>', 'global gradient-norm clip (0: none)', nonNegativeNumber, 1)
    .option('--dropout <p>', 'dropout rate (default: the preset or checkpoint)', fraction)
    .option('--no-shuffle', 'visit windows in order')
    .option('--val-fraction <f>', 'fraction of the text held out for validation (0: none)', fraction, 0.1)
    .option(
      '--eval-every <N>',
      'evaluate train/validation loss every N steps (0: only at the end)',
      nonNegativeInt,
      50,
    )
    .option('--seed <N>', 'seed of initialisation, shuffling and dropout', integer, 123)
    .option('--json', 'print a JSON summary as the last line');
}
