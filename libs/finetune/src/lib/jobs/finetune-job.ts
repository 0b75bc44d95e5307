/**
 * The engine of every finetune: each rank of a job on the cluster's worker pool runs this loop on
 * the same spec, and `forge finetune classify|instruct` runs it alone (world size 1,
 * `SINGLE_PROCESS`). The global batch of optimizer step s depends on (seed, s) only; rank r
 * computes the gradients of its contiguous slice, weighted so that the sum over ranks is the
 * gradient of the global batch's loss, `TrainingLoop` sums gradients and loss over the ranks, and
 * every rank applies the same AdamW update, so the replicas stay identical. Rank 0 logs, saves
 * resumable state, and at the end evaluates and saves.
 *
 * Errors (for the worker to tell bad input from transient failures):
 * - `DataError`: the dataset is missing, unreadable or malformed (the message names file and line),
 *   or too small for one batch / a split. Fatal: a retry fails the same way.
 * - `ConfigError`: a spec value the job cannot use (`train` for an instruction job, `maxLength`
 *   beyond the context, a rank outside the world). Fatal.
 * - `CheckpointError`: the base checkpoint is missing, corrupt or not of GPT-2's vocabulary (names
 *   the file); or an output cannot be written. Fatal.
 * - {@link FinetuneAbortedError}: `ctx.abortReason()` asked to stop. Transient: a new attempt
 *   resumes from the saved state.
 * - Anything else (an all-reduce that failed because a peer left, out of memory) is unexpected and
 *   may succeed on a retry. Unusable saved states never fail a job: they are skipped with a warning.
 */
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  FinetuneProgress,
  FinetuneSpec,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import { ParameterSet, ConfigError, Trainer, countTrainable } from '@llm-forge/gpt';
import { FINETUNE_OPTION_DEFAULTS as O } from '@llm-forge/cluster-protocol';
import { TrainingLoop, type GradientCollective } from '@llm-forge/training';
import { ClassificationTask } from './classification-task';
import { FinetuneAbortedError } from './finetune-aborted-error';
import { InstructionTask } from './instruction-task';
import { JobHistory } from './job-history';
import { loadNewestState, saveJobState, trainingSpecHash } from './job-state';
import type { InitialLosses, JobTask, ShardedEvaluation } from './job-task';

/** What a rank's finetune job gets from the worker. */
export interface FinetuneJobContext {
  /**
   * How this rank sums gradients, losses and evaluation shares with the others (its rank and the
   * world size): a worker's ring, or `SINGLE_PROCESS` for one process.
   */
  collective: GradientCollective;
  /** Directory of the job's outputs, shared by every rank: state/ (resumable), model/, responses.json. */
  outDir: string;
  /**
   * Where rank 0 saves the finetuned model; `forge finetune` saves it in `--out` itself (then
   * `resumable` must be false: the model replaces the folder). @defaultValue `<outDir>/model`
   */
  modelDir?: string;
  /**
   * Whether rank 0 saves resumable state into `<outDir>/state` (every `spec.checkpointEvery` steps
   * and after every epoch) and the job resumes from the newest one there. @defaultValue true
   */
  resumable?: boolean;
  /** Rank 0: called with the progress after each logged point (cheap; the worker forwards it to BullMQ). */
  onProgress?(progress: FinetuneProgress): void;
  /** Checked between steps; a returned reason stops the job with a FinetuneAbortedError. */
  abortReason?(): string | undefined;
  /**
   * Checked between steps; true ends training there and the job finishes (evaluates and saves) with
   * the steps done (`forge finetune`'s first Ctrl-C). Every rank must answer alike.
   */
  stopTraining?(): boolean;
  log?(message: string, fields?: Record<string, unknown>): void;
}

/** What a rank's finetune job returns (rank 0 adds the model, evaluation and history). */
export interface FinetuneJobOutcome {
  steps: number;
  trainableParameters: number;
  totalParameters: number;
  modelDir?: string;
  evaluation?: ClassificationEvaluation | InstructionEvaluation;
  history?: FinetuneMetric[];
}

/** A job after its training loop, before the final evaluation; dispose {@link task} when done. */
export interface TrainedJob<T extends JobTask = JobTask> {
  task: T;
  trainer: Trainer;
  history: JobHistory;
  initial?: InitialLosses;
}

/**
 * Runs rank `ctx.collective.rank`'s share of a finetune job: resumes from the newest usable state in
 * `ctx.outDir/state`, trains to the end, and on rank 0 evaluates and saves the model (and
 * responses).
 *
 * @throws DataError - the dataset is missing, malformed (file and line named) or too small: fatal.
 * @throws ConfigError - a spec or context value the job cannot use: fatal.
 * @throws CheckpointError - the base checkpoint is missing, corrupt or of another vocabulary, or an
 *   output cannot be written (`file` names it): fatal.
 * @throws {@link FinetuneAbortedError} - `ctx.abortReason()` asked to stop: transient, resumable.
 * @throws Error - anything else (a failed all-reduce, ranks that resumed from different states):
 *   transient.
 */
export async function runFinetuneJob(
  spec: FinetuneSpec,
  ctx: FinetuneJobContext,
): Promise<FinetuneJobOutcome> {
  const job = await trainFinetuneJob(spec, ctx);
  try {
    const outcome: FinetuneJobOutcome = {
      steps: job.trainer.stepsDone,
      trainableParameters: countTrainable(job.task.trainables),
      totalParameters: job.task.totalParameters,
    };
    if (ctx.collective.rank !== 0) return outcome;
    const { modelDir, evaluation } = await job.task.finish({
      outDir: ctx.outDir,
      modelDir: ctx.modelDir,
      initial: job.initial,
      log: ctx.log,
      checkAbort: () => {
        const reason = ctx.abortReason?.();
        if (reason !== undefined) throw new FinetuneAbortedError(reason, outcome.steps);
      },
    });
    ctx.log?.('finetune job finished', { modelDir, steps: outcome.steps });
    return { ...outcome, modelDir, evaluation, history: job.history.points };
  } finally {
    job.task.dispose();
  }
}

function checkContext({ collective: { rank, worldSize } }: FinetuneJobContext): void {
  if (!(Number.isInteger(worldSize) && worldSize >= 1))
    throw new ConfigError('worldSize', worldSize, 'an integer >= 1');
  if (!(Number.isInteger(rank) && rank >= 0 && rank < worldSize))
    throw new ConfigError('rank', rank, `an integer in [0, ${worldSize - 1}]`);
}

/** Loads data and model for the spec's kind. */
function createTask(spec: FinetuneSpec): JobTask {
  return spec.kind === 'classification' ? ClassificationTask.create(spec) : InstructionTask.create(spec);
}

/**
 * The training part of {@link runFinetuneJob}: builds the task (unless given one, built from the
 * same spec: `forge finetune` describes the data before training), resumes, runs the remaining
 * steps. The caller finishes the task (`task.finish`, rank 0) and disposes it; on an error it is
 * disposed here.
 */
export async function trainFinetuneJob<T extends JobTask = JobTask>(
  spec: FinetuneSpec,
  ctx: FinetuneJobContext,
  given?: T,
): Promise<TrainedJob<T>> {
  let task = given;
  try {
    checkContext(ctx);
    task ??= createTask(spec) as T;
    return await trainTask(spec, ctx, task);
  } catch (e) {
    task?.dispose();
    throw e;
  }
}

async function trainTask<T extends JobTask>(
  spec: FinetuneSpec,
  ctx: FinetuneJobContext,
  task: T,
): Promise<TrainedJob<T>> {
  const { rank, worldSize } = ctx.collective;
  const { lr, weightDecay, epochs } = spec.hyperparameters;
  const totalSteps = task.stepsPerEpoch * epochs;
  const trainer = new Trainer(ParameterSet.of(task.trainables), {
    schedule: { lr, minLr: lr, warmupSteps: 0, totalSteps, schedule: 'constant' },
    adamw: { weightDecay },
    gradClip: 0, // the book does not clip when finetuning
  });
  const specHash = trainingSpecHash(spec);
  const resumable = ctx.resumable ?? true;
  const warn = (message: string, file: string) => ctx.log?.(message, { level: 'warn', file });
  const resumed = resumable ? loadNewestState(ctx.outDir, specHash, trainer.params.length, warn) : undefined;
  const evalEvery = spec.evalEvery ?? O.evalEvery;
  const history = new JobHistory(totalSteps, epochs, resumed?.history ?? [], evalEvery);
  let initial = resumed?.initial;
  if (resumed) {
    trainer.restore(resumed.values, resumed.optimizer);
    ctx.log?.(`resuming at step ${resumed.step} of ${totalSteps}`, { step: resumed.step });
    // The new attempt's progress starts where the saved history ends, not at zero.
    if (rank === 0 && resumed.step > 0) {
      const epoch = Math.ceil(resumed.step / task.stepsPerEpoch);
      ctx.onProgress?.({ step: resumed.step, totalSteps, epoch, history: [...history.points] });
    }
  }
  const loop = new TrainingLoop(trainer, ctx.collective);
  await checkSameStart(loop, ctx);
  if (!resumed && task.initialLosses) {
    initial = await evaluateShared(loop, task.initialLosses(rank, worldSize));
    if (rank === 0) ctx.log?.('losses before training', { ...initial });
  }
  for (let step = trainer.stepsDone; step < totalSteps; step++) {
    // Yield first so an abort message that arrived during the last step is seen now.
    await new Promise((resolve) => setImmediate(resolve));
    const reason = ctx.abortReason?.();
    if (reason !== undefined) throw new FinetuneAbortedError(reason, step);
    if (ctx.stopTraining?.()) break;
    const started = performance.now();
    const { loss: localLoss, weight, batchTokens } = task.localStep(step, rank, worldSize);
    const metrics = await loop.step({ work: localLoss, weight, tokens: batchTokens });
    const tokensPerSecond = batchTokens / Math.max((performance.now() - started) / 1000, 1e-6);
    const done = step + 1;
    const epoch = Math.floor(step / task.stepsPerEpoch) + 1;
    const epochEnd = done % task.stepsPerEpoch === 0;
    const evaluate = history.evaluatesStep(done, task.stepsPerEpoch);
    // Every rank evaluates its share (one more all-reduce); only rank 0 logs and saves.
    const evaluation = evaluate ? await evaluateShared(loop, task.evaluate(rank, worldSize)) : {};
    const saves = resumable && (epochEnd || (spec.checkpointEvery > 0 && done % spec.checkpointEvery === 0));
    if (rank === 0 && (history.logsStep(done) || evaluate)) {
      history.add({
        step: done,
        epoch,
        trainLoss: metrics.loss,
        lr: metrics.lr,
        tokensPerSecond,
        ...evaluation,
      });
      ctx.onProgress?.({ step: done, totalSteps, epoch, history: [...history.points] });
    }
    if (rank === 0 && saves) {
      saveJobState(ctx.outDir, specHash, {
        step: done,
        values: trainer.params,
        optimizer: trainer.optimizer.state,
        history: history.points,
        initial,
      });
    }
    if (saves) await waitForStateSave(loop);
  }
  return { task, trainer, history, initial };
}

/**
 * How long the other ranks wait for rank 0 to write a state: the values and both AdamW moments of
 * every trainable parameter (12 bytes each: 4 GB for a full GPT-2 medium) plus their sha256, on
 * whatever disk the shared volume is — far longer than a gradient all-reduce may take.
 */
export const STATE_SAVE_WAIT_MS = 30 * 60_000;

/**
 * A barrier after a state save: the other ranks wait here, in an all-reduce of one value with a
 * long timeout, instead of in the next step's gradient all-reduce, whose ring timeout a large
 * state could outlast (every attempt would then fail at the same save).
 */
async function waitForStateSave(loop: TrainingLoop): Promise<void> {
  if (loop.collective.worldSize === 1) return;
  await loop.allReduce(new Float32Array(1), { timeoutMs: STATE_SAVE_WAIT_MS });
}

/** Sums an evaluation's shares over the ranks and returns its result. */
async function evaluateShared<T>(loop: TrainingLoop, evaluation: ShardedEvaluation<T>): Promise<T> {
  await loop.allReduce(evaluation.sums);
  return evaluation.result(evaluation.sums);
}

/**
 * Checks that every rank starts from the same step: ranks that resumed from different states
 * would otherwise all-reduce gradients of different batches. An all-reduce of [step, 1] must give
 * [worldSize · step, worldSize].
 */
async function checkSameStart(loop: TrainingLoop, ctx: FinetuneJobContext): Promise<void> {
  const { rank, worldSize } = ctx.collective;
  const step = loop.stepsDone;
  const probe = Float32Array.from([step, 1]);
  await loop.allReduce(probe);
  if (probe[0] !== step * worldSize || probe[1] !== worldSize) {
    throw new Error(
      `rank ${rank} starts at step ${step}, but the ranks' steps sum to ${probe[0]} over ${probe[1]} ranks: they resumed from different states (is ${ctx.outDir} the same shared directory on every worker?)`,
    );
  }
}
