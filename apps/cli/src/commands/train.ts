/** `forge train`: pretrain a GPT on a text file (or the built-in corpus) and save a checkpoint. */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { ForgeError, loadTrainerState } from '@llm-forge/gpt';
import {
  BUILTIN_TEXT,
  PRETRAIN_DEFAULTS,
  resolveTextReference,
  runSpecSchema,
  type RunSpec,
} from '@llm-forge/cluster-protocol';
import {
  dataPosition,
  freshReplica,
  rankLoader,
  replicaFromCheckpoint,
  saveReplica,
  trainAlone,
  withTotalSteps,
  type Replica,
  type RunHistory,
  type RunTrainerState,
} from '@llm-forge/training';
import { BUILTIN_CORPUS } from '@llm-forge/data-shards';
import { formatBytes } from '../model-source';
import { trainingSummary } from '../training-summary';
import { positiveInt } from '../options';
import { resolveModelOption } from '../references';
import { addTrainingOptions, given, sharedSpecFields, type TrainingFlags } from '../training-options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { stopOnInterrupt, TrainProgress } from '../progress';

interface TrainFlags extends TrainingFlags {
  resume?: boolean;
  epochs?: number;
  gradAccumulation: number;
  evalBatches: number;
  overwrite?: boolean;
}

/** The run id a single-process run records in its checkpoints. */
const LOCAL_RUN_ID = 'forge-train';

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
  const { replica, history } = flags.resume
    ? resumedRun(flags)
    : { replica: newRun(flags), history: undefined };
  const { model, spec } = replica;
  info(
    flags.json,
    `backend ${backend.name}; model ${model.parameterCount.toLocaleString()} parameters (${formatBytes(model.parameterCount * 4)}); ${rankLoader(replica, 0, 1).stepsPerEpoch} steps per epoch; ${spec.steps} steps`,
  );

  const progress = new TrainProgress(spec.steps, replica.trainer.stepsDone, Boolean(flags.json));
  const interrupt = stopOnInterrupt(
    progress,
    `stopping after this step and saving to ${out} (resume with --init ${out} --resume)`,
  );
  const summary = await trainAlone(
    replica,
    {
      onStep: (s) => progress.step(s.step + 1, s.totalSteps, s.loss, s.tokensPerSecond),
      onEval: (e) => {
        const val = e.valLoss === undefined ? '' : `, val loss ${e.valLoss.toFixed(3)}`;
        progress.log(`step ${e.step}: train loss ${e.trainLoss.toFixed(3)}${val}`);
        progress.log(`sample @${e.step}: ${JSON.stringify(e.sample)}`);
      },
    },
    interrupt.signal,
  );
  interrupt.dispose();
  progress.stop();

  // The whole run's history, so that a resumed run reports (and saves) what an uninterrupted one would.
  const runHistory: RunHistory = {
    stepLosses: [...(history?.stepLosses ?? []), ...summary.stepLosses],
    evals: [...(history?.evals ?? []), ...summary.evals],
  };
  const position = dataPosition(replica, rankLoader(replica, 0, 1), replica.trainer.stepsDone);
  saveReplica(out, replica, position, { overwrite: flags.overwrite, history: runHistory });
  model.dispose();
  info(flags.json, `saved checkpoint to ${out}`);
  if (flags.json) {
    printJson({
      ...trainingSummary({
        stepLosses: runHistory.stepLosses,
        tokensPerSecond: summary.tokensPerSecond,
        lastEval: runHistory.evals.at(-1),
        sample: summary.sample,
      }),
      steps: summary.steps,
      tokens_seen: summary.steps * spec.batchSize * replica.contextLength,
      checkpoint: out,
      backend: backend.name,
    });
  }
}

/** The run the flags describe, as the spec a cluster run of the same flags gets (`POST /runs`). */
function runSpecOf(flags: TrainFlags, steps: number): RunSpec {
  const parsed = runSpecSchema.safeParse({
    ...sharedSpecFields(flags),
    // --batch-size windows per micro-batch, --grad-accumulation micro-batches per step.
    batchSize: flags.batchSize * flags.gradAccumulation,
    microBatchSize: flags.gradAccumulation > 1 ? flags.batchSize : undefined,
    steps,
    evalBatches: flags.evalBatches,
    workers: 1,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ForgeError(`${issue.path.join('.') || 'flags'}: ${issue.message}`);
  }
  return parsed.data;
}

/** A new run: a preset's random weights or --init's, trained for --steps or whole --epochs. */
function newRun(flags: TrainFlags): Replica {
  const replica = freshReplica(LOCAL_RUN_ID, runSpecOf(flags, flags.steps ?? 1));
  if (flags.epochs === undefined) return replica;
  return withTotalSteps(replica, flags.epochs * rankLoader(replica, 0, 1).stepsPerEpoch);
}

/** The run stored in --init, continued exactly (and its history); --steps extends it. */
function resumedRun(flags: TrainFlags): { replica: Replica; history?: RunHistory } {
  const dir = flags.init as string;
  // The state alone: replicaFromCheckpoint reads the weights and moments once.
  const state = loadTrainerState(dir) as Partial<RunTrainerState> | undefined;
  if (state?.spec === undefined || state.step === undefined) {
    throw new ForgeError(
      `${dir} holds no resumable run state (a weights-only checkpoint, or one written by an older forge train)`,
      'drop --resume to start a new run from its weights',
    );
  }
  const spec: RunSpec = { ...state.spec, steps: flags.steps ?? state.spec.steps };
  if (spec.steps <= state.step) {
    throw new ForgeError(
      `${dir} has trained ${state.step} of ${state.spec.steps} steps already`,
      'pass a larger --steps to train further',
    );
  }
  return {
    replica: replicaFromCheckpoint(state.runId ?? LOCAL_RUN_ID, spec, dir, state.step),
    history: state.history,
  };
}
