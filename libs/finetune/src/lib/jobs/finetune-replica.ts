/**
 * A finetune job as a {@link JobReplica}: what one rank holds of the job between its steps (the
 * task with its data and model, the trainer of the trainable tensors, the logged history) and what
 * the job does after each step. Every path takes it through the same steps: a worker's step jobs,
 * one step per BullMQ flow like a pretraining run, and `forge finetune` through
 * {@link runFinetuneJob} at world size 1.
 *
 * The global batch of step s depends on (seed, s) only; rank r computes the gradients of its
 * contiguous slice, weighted so that the sum over ranks is the gradient of the global batch's loss;
 * `TrainingLoop` sums them and every rank applies the same AdamW update. After a step, the ranks
 * evaluate together (each its share of the examples, one all-reduce) at the end of an epoch and
 * every `evalEvery` steps; rank 0 logs, saves resumable state (`<outDir>/state/step-NNNNNN`) every
 * `checkpointEvery` steps and after every epoch, and after the last step evaluates and saves the
 * model.
 */
import type { FinetuneSpec, FinetuneStepReport } from '@llm-forge/cluster-protocol';
import { FINETUNE_OPTION_DEFAULTS as O } from '@llm-forge/cluster-protocol';
import { ConfigError, countTrainable, ParameterSet, Trainer } from '@llm-forge/gpt';
import type {
  AfterStepContext,
  JobReplica,
  LocalShare,
  StepMetrics,
  StepReport,
  TrainingLoop,
} from '@llm-forge/training';
import { ClassificationTask } from './classification-task';
import { FinetuneAbortedError } from './finetune-aborted-error';
import { InstructionTask } from './instruction-task';
import { JobHistory } from './job-history';
import { readJobState, saveJobState, trainingSpecHash } from './job-state';
import type { InitialLosses, JobTask, ShardedEvaluation, TaskOutputs } from './job-task';

/**
 * How long the other ranks wait for rank 0 to write a state: the values and both AdamW moments of
 * every trainable parameter (12 bytes each: 4 GB for a full GPT-2 medium) plus their sha256, on
 * whatever disk the shared volume is — far longer than a gradient all-reduce may take.
 */
export const STATE_SAVE_WAIT_MS = 30 * 60_000;

/** Where a finetune replica keeps its outputs. */
export interface FinetuneReplicaOptions {
  /** Directory of the job's outputs, shared by every rank: state/ (resumable), model/, responses.json. */
  outDir: string;
  /**
   * Where rank 0 saves the finetuned model; `forge finetune` saves it in `--out` itself (then
   * `resumable` must be false: the model replaces the folder). @defaultValue `<outDir>/model`
   */
  modelDir?: string;
  /**
   * Whether rank 0 saves resumable state into `<outDir>/state` (every `spec.checkpointEvery` steps
   * and after every epoch). @defaultValue true
   */
  resumable?: boolean;
  /**
   * Whether rank 0 finishes the job (final evaluation, model) in {@link FinetuneReplica.afterStep}
   * of the last step, as a worker's last step job does; in-process training leaves the end to its
   * caller instead (`forge finetune` finishes after a Ctrl-C too). @defaultValue true
   */
  finishAfterLastStep?: boolean;
}

/** Where a replica starts: fresh, or from a saved state (which must hold `step` steps when given). */
export type FinetuneStart = { from: 'fresh' } | { from: 'dir'; dir: string; step?: number };

/** One rank's replica of a finetune job. */
export class FinetuneReplica implements JobReplica {
  readonly trainer: Trainer;
  readonly history: JobHistory;
  readonly totalSteps: number;
  /** Losses before the first step (instruction jobs), from the saved state or measured at join. */
  initial?: InitialLosses;
  private rank = 0;
  private worldSize = 1;
  private readonly specHash: string;

  private constructor(
    readonly jobId: string,
    readonly spec: FinetuneSpec,
    readonly task: JobTask,
    private readonly options: FinetuneReplicaOptions,
    start: FinetuneStart,
  ) {
    const { lr, weightDecay, epochs } = spec.hyperparameters;
    // A quick try stops early (`maxSteps`), then evaluates and saves as a whole job does.
    this.totalSteps = Math.min(task.stepsPerEpoch * epochs, spec.maxSteps ?? Infinity);
    this.trainer = new Trainer(ParameterSet.of(task.trainables), {
      schedule: { lr, minLr: lr, warmupSteps: 0, totalSteps: this.totalSteps, schedule: 'constant' },
      adamw: { weightDecay },
      gradClip: 0, // the book does not clip when finetuning
    });
    this.specHash = trainingSpecHash(spec);
    const state =
      start.from === 'dir'
        ? readJobState(start.dir, this.specHash, this.trainer.params.length, start.step)
        : undefined;
    const evalEvery = spec.evalEvery ?? O.evalEvery;
    this.history = new JobHistory(this.totalSteps, epochs, state ? [...state.history] : [], evalEvery);
    if (state) {
      this.trainer.restore(state.values, state.optimizer);
      this.initial = state.initial;
    }
  }

  /**
   * Loads the job's data and model (or takes `given`, built from the same spec) and places it at
   * `start`. On an error the task is disposed.
   *
   * @throws DataError - the dataset is missing, malformed (file and line named) or too small.
   * @throws CheckpointError - the base checkpoint or the state to resume from is missing, corrupt
   *   or of another spec (the file named).
   */
  static open(
    jobId: string,
    spec: FinetuneSpec,
    options: FinetuneReplicaOptions,
    start: FinetuneStart = { from: 'fresh' },
    given?: JobTask,
  ): FinetuneReplica {
    const task = given ?? createTask(spec);
    try {
      return new FinetuneReplica(jobId, spec, task, options, start);
    } catch (e) {
      task.dispose();
      throw e;
    }
  }

  /** Epochs' steps. */
  get stepsPerEpoch(): number {
    return this.task.stepsPerEpoch;
  }

  /** A fresh instruction job measures its losses before training, every rank its share. */
  async join(loop: TrainingLoop, rank: number, worldSize: number): Promise<void> {
    checkRank(rank, worldSize);
    this.rank = rank;
    this.worldSize = worldSize;
    if (this.initial === undefined && this.trainer.stepsDone === 0 && this.task.initialLosses) {
      this.initial = await evaluateShared(loop, this.task.initialLosses(rank, worldSize));
    }
  }

  share(step: number): LocalShare {
    const { loss, weight, batchTokens } = this.task.localStep(step, this.rank, this.worldSize);
    return { work: loss, weight, tokens: batchTokens };
  }

  /**
   * Evaluates (every rank its share), logs, saves state (rank 0; the others wait in a barrier) as
   * the spec asks after the step just applied, and after the last step finishes the job on rank 0.
   */
  async afterStep(
    loop: TrainingLoop,
    metrics: StepMetrics,
    context: AfterStepContext = {},
  ): Promise<StepReport> {
    const done = this.trainer.stepsDone;
    const epoch = Math.ceil(done / this.stepsPerEpoch);
    const evaluate = this.history.evaluatesStep(done, this.stepsPerEpoch);
    const evaluation = evaluate
      ? await evaluateShared(loop, this.task.evaluate(this.rank, this.worldSize))
      : {};
    const report: StepReport = {};
    if (this.rank === 0) report.finetune = this.progress(epoch);
    if (this.rank === 0 && (this.history.logsStep(done) || evaluate)) {
      const seconds = Math.max((metrics.computeMs + metrics.communicationMs) / 1000, 1e-6);
      const point = {
        step: done,
        epoch,
        trainLoss: metrics.loss,
        lr: metrics.lr,
        tokensPerSecond: metrics.tokens / seconds,
        ...evaluation,
      };
      this.history.add(point);
      if (report.finetune) report.finetune.logged = point;
    }
    if (this.savesStateAfter(done)) {
      if (this.rank === 0) report.checkpoint = this.saveState();
      await waitForStateSave(loop);
    }
    const finishes = this.options.finishAfterLastStep ?? true;
    if (finishes && this.rank === 0 && done === this.totalSteps && report.finetune) {
      const { modelDir, evaluation: final } = await this.finish(context);
      Object.assign(report.finetune, { modelDir, evaluation: final });
    }
    return report;
  }

  /**
   * Rank 0's end of the job: the final evaluation and the finetuned model (and responses); also
   * called by `forge finetune` when Ctrl-C ends training early.
   *
   * @throws {@link FinetuneAbortedError} - `context.abortReason()` asked to stop (between responses).
   */
  finish(context: AfterStepContext = {}): Promise<TaskOutputs> {
    const steps = this.trainer.stepsDone;
    return this.task.finish({
      outDir: this.options.outDir,
      modelDir: this.options.modelDir,
      initial: this.initial,
      log: context.log,
      checkAbort: () => {
        const reason = context.abortReason?.();
        if (reason !== undefined) throw new FinetuneAbortedError(reason, steps);
      },
    });
  }

  dispose(): void {
    this.task.dispose();
  }

  /** What rank 0 reports with every step. */
  private progress(epoch: number): FinetuneStepReport {
    return {
      totalSteps: this.totalSteps,
      epoch,
      trainableParameters: countTrainable(this.task.trainables),
      totalParameters: this.task.totalParameters,
    };
  }

  private savesStateAfter(done: number): boolean {
    if (!(this.options.resumable ?? true)) return false;
    const every = this.spec.checkpointEvery;
    return done % this.stepsPerEpoch === 0 || (every > 0 && done % every === 0);
  }

  private saveState(): NonNullable<StepReport['checkpoint']> {
    const step = this.trainer.stepsDone;
    const dir = saveJobState(this.options.outDir, this.specHash, {
      step,
      values: this.trainer.params,
      optimizer: this.trainer.optimizer.state,
      history: this.history.points,
      initial: this.initial,
    });
    return { name: dir.split(/[\\/]/).pop() as string, path: dir, step };
  }
}

/** Refuses a rank outside the world (ConfigError naming the value). */
export function checkRank(rank: number, worldSize: number): void {
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
 * A barrier after a state save: the other ranks wait here, in an all-reduce of one value with a
 * long timeout, instead of in the next step's gradient all-reduce, whose ring timeout a large
 * state could outlast (every attempt would then fail at the same save).
 */
async function waitForStateSave(loop: TrainingLoop): Promise<void> {
  if (loop.collective.worldSize === 1) return;
  await loop.allReduce(new Float32Array(1), { timeoutMs: STATE_SAVE_WAIT_MS });
}

/** Sums an evaluation's shares over the ranks and returns its result. */
export async function evaluateShared<T>(loop: TrainingLoop, evaluation: ShardedEvaluation<T>): Promise<T> {
  await loop.allReduce(evaluation.sums);
  return evaluation.result(evaluation.sums);
}
