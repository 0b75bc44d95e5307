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
  FinetuneSpec,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import { countTrainable } from '@llm-forge/gpt';
import { TrainingLoop, type GradientCollective } from '@llm-forge/training';
import { FinetuneAbortedError } from './finetune-aborted-error';
import { checkRank, FinetuneReplica, type FinetuneReplicaOptions } from './finetune-replica';
import type { JobTask } from './job-task';

/** Progress of a job in one process, after each logged point. */
export interface FinetuneProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  history: FinetuneMetric[];
}

/** What a process running ranks of a finetune job supplies. */
export interface FinetuneJobContext extends FinetuneReplicaOptions {
  /**
   * A saved state (`<outDir>/state/step-NNNNNN`) to continue from, the same on every rank, as the
   * coordinator names one to a new attempt; absent: a fresh start.
   */
  resumeFrom?: string;
  /**
   * How this rank sums gradients, losses and evaluation shares with the others (its rank and the
   * world size): `SINGLE_PROCESS` for one process, or a collective of in-process ranks in tests.
   */
  collective: GradientCollective;
  /** Rank 0: called with the progress after each logged point. */
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

/**
 * A job after its training loop, before the final evaluation: the replica itself (its task, trainer,
 * history and initial losses; `finish` on rank 0), typed with the task it was given. Dispose
 * {@link FinetuneReplica.task} when done.
 */
export type TrainedJob<T extends JobTask = JobTask> = FinetuneReplica & { readonly task: T };

/**
 * Runs rank `ctx.collective.rank`'s share of a finetune job in this process, step by step through
 * a {@link FinetuneReplica} (what a worker's step jobs do one flow at a time): starts fresh or from
 * the saved state `ctx.resumeFrom`, trains to the end (or until `stopTraining`), and on rank 0
 * evaluates and saves the model (and responses).
 *
 * @throws DataError - the dataset is missing, malformed (file and line named) or too small: fatal.
 * @throws ConfigError - a spec or context value the job cannot use: fatal.
 * @throws CheckpointError - the base checkpoint or the state to resume from is missing, corrupt, of
 *   another vocabulary or spec, or an output cannot be written (`file` names it).
 * @throws {@link FinetuneAbortedError} - `ctx.abortReason()` asked to stop: transient, resumable.
 * @throws Error - anything else (a failed all-reduce).
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
    const { modelDir, evaluation } = await job.finish(ctx);
    ctx.log?.('finetune job finished', { modelDir, steps: outcome.steps });
    return { ...outcome, modelDir, evaluation, history: job.history.points };
  } finally {
    job.task.dispose();
  }
}

/**
 * The training part of {@link runFinetuneJob}: builds the replica (from `given`, a task built from
 * the same spec, when there is one: `forge finetune` describes the data before training), resumes,
 * runs the remaining steps. The caller finishes the job (`replica.finish`, rank 0) and disposes
 * the task; on an error it is disposed here.
 */
export async function trainFinetuneJob<T extends JobTask = JobTask>(
  spec: FinetuneSpec,
  ctx: FinetuneJobContext,
  given?: T,
): Promise<TrainedJob<T>> {
  checkRank(ctx.collective.rank, ctx.collective.worldSize);
  const start =
    ctx.resumeFrom !== undefined ? { from: 'dir' as const, dir: ctx.resumeFrom } : { from: 'fresh' as const };
  const replica = FinetuneReplica.open('local', spec, { ...ctx, finishAfterLastStep: false }, start, given);
  try {
    await trainReplica(replica, ctx);
    return replica as TrainedJob<T>;
  } catch (e) {
    replica.dispose();
    throw e;
  }
}

/** Takes the replica's remaining steps in this process (rank `ctx.collective.rank`). */
async function trainReplica(replica: FinetuneReplica, ctx: FinetuneJobContext): Promise<void> {
  const { rank, worldSize } = ctx.collective;
  const { trainer, history, totalSteps } = replica;
  const resumedAt = trainer.stepsDone;
  if (resumedAt > 0) {
    ctx.log?.(`resuming at step ${resumedAt} of ${totalSteps}`, { step: resumedAt });
    // The new attempt's progress starts where the saved history ends, not at zero.
    if (rank === 0)
      ctx.onProgress?.({
        step: resumedAt,
        totalSteps,
        epoch: Math.ceil(resumedAt / replica.stepsPerEpoch),
        history: [...history.points],
      });
  }
  const loop = new TrainingLoop(trainer, ctx.collective);
  await replica.join(loop, rank, worldSize);
  if (resumedAt === 0 && replica.initial && rank === 0)
    ctx.log?.('losses before training', { ...replica.initial });
  for (let step = trainer.stepsDone; step < totalSteps; step++) {
    // Yield first so an abort message that arrived during the last step is seen now.
    await new Promise((resolve) => setImmediate(resolve));
    const reason = ctx.abortReason?.();
    if (reason !== undefined) throw new FinetuneAbortedError(reason, step);
    if (ctx.stopTraining?.()) break;
    const metrics = await loop.step(replica.share(step));
    const report = await replica.afterStep(loop, metrics, ctx);
    const progress = report.finetune;
    if (progress?.logged)
      ctx.onProgress?.({ step: step + 1, totalSteps, epoch: progress.epoch, history: [...history.points] });
  }
}
