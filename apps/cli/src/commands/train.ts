/** `forge train`: pretrain a GPT on a text file (or the built-in corpus) and save a checkpoint. */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import {
  ForgeError,
  saveCheckpoint,
  TrainingRun,
  loadCheckpoint,
  GPTModel,
  PRESET_NAMES,
  type TrainRunOptions,
  type TrainerState,
} from '@llm-forge/gpt';
import { builtinCorpus, BUILTIN_CORPUS, readText } from '@llm-forge/data-shards';
import { formatBytes, modelFromPreset } from '../model-source';
import {
  fraction,
  integer,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
} from '../options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { TrainProgress } from '../progress';

interface TrainFlags {
  text?: string;
  init?: string;
  resume?: boolean;
  preset: string;
  contextLength?: number;
  stride?: number;
  batchSize: number;
  steps?: number;
  epochs?: number;
  gradAccumulation: number;
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
  evalBatches: number;
  sampleEvery: number;
  prompt: string;
  seed: number;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
}

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return path.join('runs', `train-${stamp}`);
}

/** Registers `forge train`. */
export function trainCommand(): Command {
  return new Command('train')
    .description('pretrain a GPT on a text (default: the built-in corpus) and save a checkpoint')
    .option('--text <file>', `UTF-8 training text (default: ${BUILTIN_CORPUS})`)
    .option('--init <dir>', 'start from this checkpoint instead of a new model')
    .option('--resume', 'with --init: continue that run exactly (optimizer, step, data position)')
    .addOption(
      new Option('--preset <name>', 'model size for a new model').choices(PRESET_NAMES).default('tiny'),
    )
    .option('--context-length <T>', 'tokens per training window (default: the model context)', positiveInt)
    .option('--stride <S>', 'step between windows (default: the context length)', positiveInt)
    .option('--batch-size <B>', 'windows per micro-batch', positiveInt, 4)
    .option('--steps <K>', 'optimizer steps', positiveInt)
    .option('--epochs <E>', 'passes over the training windows (when --steps is absent)', positiveInt)
    .option('--grad-accumulation <N>', 'micro-batches per optimizer step', positiveInt, 1)
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
    .option('--eval-batches <N>', 'batches per loss estimate', positiveInt, 5)
    .option('--sample-every <N>', 'print a sample every N steps (0: only at the end)', nonNegativeInt, 0)
    .option('--prompt <text>', 'prompt of the samples', 'Every effort moves you')
    .option('--seed <N>', 'seed of initialisation, shuffling and dropout', integer, 123)
    .option('--out <dir>', 'checkpoint directory (default: runs/train-<time>)')
    .option('--overwrite', 'replace an existing checkpoint at --out')
    .option('--json', 'print a JSON summary as the last line')
    .action(async (flags: TrainFlags) => runTrain(flags));
}

async function runTrain(flags: TrainFlags): Promise<void> {
  if (flags.resume && !flags.init)
    throw new ForgeError('--resume needs --init <dir> (the checkpoint to continue)');
  const out = flags.out ?? defaultOutDir();
  if (fs.existsSync(out) && !flags.overwrite) {
    throw new ForgeError(`${out} already exists`, 'pass --overwrite to replace it or choose another --out');
  }
  const backend = await startBackend();
  const text = flags.text ? readText(flags.text) : builtinCorpus();
  const checkpoint = flags.init ? loadCheckpoint(flags.init) : undefined;
  const dropout = flags.dropout !== undefined ? { dropRate: flags.dropout } : {};
  const model = checkpoint
    ? GPTModel.fromParameters({ ...checkpoint.config, ...dropout }, checkpoint.params)
    : modelFromPreset(flags.preset, flags.seed, dropout);
  const options: TrainRunOptions = {
    contextLength: flags.contextLength ?? model.config.contextLength,
    stride: flags.stride ?? flags.contextLength ?? model.config.contextLength,
    batchSize: flags.batchSize,
    steps: flags.steps,
    epochs: flags.epochs,
    gradAccumulation: flags.gradAccumulation,
    lr: flags.lr,
    minLr: flags.minLr ?? flags.lr / 10,
    warmupSteps: flags.warmupSteps,
    schedule: flags.schedule,
    weightDecay: flags.weightDecay,
    gradClip: flags.gradClip,
    shuffle: flags.shuffle,
    valFraction: flags.valFraction,
    evalEvery: flags.evalEvery,
    evalBatches: flags.evalBatches,
    sampleEvery: flags.sampleEvery,
    samplePrompt: flags.prompt,
    seed: flags.seed,
  };
  const resume = flags.resume ? resumeState(flags.init as string, checkpoint) : undefined;
  const run = new TrainingRun(
    model,
    text,
    resume ? { ...resume.state.options, steps: flags.steps ?? resume.state.totalSteps } : options,
    resume,
  );
  info(
    flags.json,
    `backend ${backend.name}; model ${model.parameterCount.toLocaleString()} parameters (${formatBytes(model.parameterCount * 4)}); ${run.trainLoader.batchesPerEpoch} batches per epoch; ${run.totalSteps} steps`,
  );

  const progress = new TrainProgress(run.totalSteps, run.trainer.stepsDone, Boolean(flags.json));
  const interrupt = stopOnInterrupt(progress, out);
  const summary = await run.run(
    {
      onStep: (s) => progress.step(s.step + 1, s.totalSteps, s.loss, s.tokensPerSecond),
      onEval: (e) => {
        const val = e.valLoss === undefined ? '' : `, val loss ${e.valLoss.toFixed(3)}`;
        progress.log(`step ${e.step}: train loss ${e.trainLoss.toFixed(3)}${val}`);
      },
      onSample: (s) => progress.log(`sample @${s.step}: ${JSON.stringify(s.text)}`),
    },
    Infinity,
    interrupt.signal,
  );
  interrupt.dispose();
  progress.stop();

  saveCheckpoint(
    out,
    {
      config: model.config,
      params: run.trainer.params,
      optimizer: run.trainer.optimizer.state,
      trainerState: run.state(),
    },
    { overwrite: flags.overwrite },
  );
  info(flags.json, `saved checkpoint to ${out}`);
  if (flags.json) {
    printJson({
      step_losses: summary.stepLosses,
      final_train_loss: summary.finalTrainLoss,
      final_val_loss: summary.finalValLoss ?? null,
      tokens_per_second: summary.tokensPerSecond,
      steps: summary.steps,
      tokens_seen: summary.tokensSeen,
      checkpoint: out,
      backend: backend.name,
      sample: summary.sample ?? null,
    });
  }
}

/**
 * The first Ctrl-C stops training after the current step and still saves a resumable checkpoint;
 * a second one quits at once.
 */
function stopOnInterrupt(progress: TrainProgress, out: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    progress.log(
      `interrupted: stopping after this step and saving to ${out} (resume with --init ${out} --resume; Ctrl-C again to quit now)`,
    );
    controller.abort();
    process.removeListener('SIGINT', onInterrupt);
    process.once('SIGINT', () => process.exit(130));
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onInterrupt) };
}

function resumeState(dir: string, checkpoint: ReturnType<typeof loadCheckpoint> | undefined) {
  if (!checkpoint?.optimizer || !checkpoint.trainerState) {
    throw new ForgeError(
      `${dir} has no optimizer or trainer state to resume from (it is a weights-only checkpoint; drop --resume to start a new run from it)`,
    );
  }
  return {
    optimizer: checkpoint.optimizer,
    state: checkpoint.trainerState as TrainerState,
  };
}
