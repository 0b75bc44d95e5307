/** `forge train`: pretrain a GPT on a text file (or the built-in corpus) and save a checkpoint. */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import {
  ForgeError,
  saveCheckpoint,
  TrainingRun,
  loadCheckpoint,
  GPTModel,
  type TrainRunOptions,
  type TrainerState,
} from '@llm-forge/gpt';
import { BUILTIN_TEXT, PRETRAIN_DEFAULTS, resolveTextReference } from '@llm-forge/cluster-protocol';
import { BUILTIN_CORPUS } from '@llm-forge/data-shards';
import { formatBytes, modelFromPreset } from '../model-source';
import { nonNegativeInt, positiveInt } from '../options';
import { loadText, resolveModelOption } from '../references';
import { addTrainingOptions, given, type TrainingFlags } from '../training-options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { TrainProgress } from '../progress';

interface TrainFlags extends TrainingFlags {
  resume?: boolean;
  epochs?: number;
  gradAccumulation: number;
  evalBatches: number;
  sampleEvery: number;
  prompt: string;
  overwrite?: boolean;
}

function defaultOutDir(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return path.join('runs', `train-${stamp}`);
}

/** Registers `forge train`. */
export function trainCommand(): Command {
  const command = new Command('train').description(
    'pretrain a GPT on a text (default: the built-in corpus) and save a checkpoint',
  );
  return addTrainingOptions(
    command,
    'windows per micro-batch',
    `training text: a UTF-8 file, or ${BUILTIN_TEXT} (${BUILTIN_CORPUS})`,
  )
    .option('--resume', 'with --init: continue that run exactly (optimizer, step, data position)')
    .option('--epochs <E>', 'passes over the training windows (instead of --steps)', positiveInt)
    .option('--grad-accumulation <N>', 'micro-batches per optimizer step', positiveInt, 1)
    .option('--eval-batches <N>', 'batches per loss estimate', positiveInt, PRETRAIN_DEFAULTS.evalBatches)
    .option('--sample-every <N>', 'print a sample every N steps (0: only at the end)', nonNegativeInt, 0)
    .option('--prompt <text>', 'prompt of the samples', 'Every effort moves you')
    .option('--out <dir>', 'checkpoint directory (default: runs/train-<time>)')
    .option('--overwrite', 'replace an existing checkpoint at --out')
    .action(async (flags: TrainFlags, command: Command) => runTrain(await trainInputs(flags, command)));
}

/**
 * The flags with the text checked and --init resolved to a model directory (`<run>/latest` too), and
 * the default --steps dropped where it yields: to --epochs, or to the steps of a resumed run.
 */
async function trainInputs(flags: TrainFlags, command: Command): Promise<TrainFlags> {
  await resolveTextReference(flags.text);
  const yieldSteps = !given(command, 'steps') && (flags.epochs !== undefined || Boolean(flags.resume));
  return {
    ...flags,
    init: await resolveModelOption(flags.init),
    steps: yieldSteps ? undefined : flags.steps,
  };
}

async function runTrain(flags: TrainFlags): Promise<void> {
  if (flags.resume && !flags.init)
    throw new ForgeError('--resume needs --init <dir> (the checkpoint to continue)');
  const out = flags.out ?? defaultOutDir();
  if (fs.existsSync(out) && !flags.overwrite) {
    throw new ForgeError(`${out} already exists`, 'pass --overwrite to replace it or choose another --out');
  }
  const backend = await startBackend();
  const text = await loadText(flags.text);
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
