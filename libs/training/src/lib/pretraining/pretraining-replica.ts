/**
 * A pretraining run as a {@link JobReplica}: the run's replica with its rank's loader, and the run's
 * cadence after each step — on rank 0, train and validation loss and a greedy sample every
 * `evalEvery` steps, a checkpoint every `checkpointEvery` steps, both after the last step.
 */
import type { RunSpec } from '@llm-forge/cluster-protocol';
import type { DistributedBatchLoader } from '@llm-forge/data-shards';
import type { JobReplica, StepReport } from '../jobs/job-replica';
import type { LocalShare } from '../loop/local-share';
import type { TrainingLoopOptions } from '../loop/training-loop';
import { dataPosition, evaluateReplica, rankLoader, sampleText, stepShare } from './pretraining-steps';
import { freshReplica, replicaFromCheckpoint, type Replica } from './replica';
import { saveRunCheckpoint } from './run-checkpoints';

/** What a run's rank job names besides its step. */
export interface PretrainingJobInput {
  jobId: string;
  spec: RunSpec;
  /**
   * Directory of the run's checkpoints (shared by every worker); absent: no step checkpoints
   * (`forge train` saves its state to `--out` when it stops).
   */
  checkpointDir?: string;
}

/** A rank's replica of a pretraining run. */
export class PretrainingReplica implements JobReplica {
  readonly loopOptions: TrainingLoopOptions;
  private rank = 0;
  private loader?: DistributedBatchLoader;

  /**
   * A replica built already (`forge train` builds it to describe the run first); in DiLoCo mode the
   * replica carries its outer optimizer (from the checkpoint it was loaded from, momentum included).
   */
  constructor(
    readonly replica: Replica,
    private readonly checkpointDir?: string,
  ) {
    const { spec, outer } = replica;
    this.loopOptions = {
      verifyEvery: spec.verifyEvery,
      wireDType: spec.wireDType,
      // Overlap is the default; `overlap: false` sums the gradients after backward (for comparisons).
      ...(spec.sync.mode === 'ddp' && spec.sync.overlap === false ? { overlap: false } : {}),
      ...(outer ? { outer } : {}),
    };
  }

  /**
   * The run at step 0 (`from` absent) or at the checkpoint `from` of the run, which must hold
   * `step` steps (a CheckpointError naming the file otherwise).
   */
  static open(input: PretrainingJobInput, step: number, from?: string): PretrainingReplica {
    const replica =
      from === undefined
        ? freshReplica(input.jobId, input.spec)
        : replicaFromCheckpoint(input.jobId, input.spec, from, step);
    return new PretrainingReplica(replica, input.checkpointDir);
  }

  get jobId(): string {
    return this.replica.runId;
  }

  get trainer(): Replica['trainer'] {
    return this.replica.trainer;
  }

  join(_loop: unknown, rank: number, worldSize: number): Promise<void> {
    this.rank = rank;
    this.loader = rankLoader(this.replica, rank, worldSize);
    return Promise.resolve();
  }

  share(step: number): LocalShare {
    return stepShare(this.replica, this.requireLoader(), step);
  }

  afterStep(): Promise<StepReport> {
    if (this.rank !== 0) return Promise.resolve({});
    const { spec } = this.replica;
    const done = this.trainer.stepsDone;
    const last = done >= spec.steps;
    const every = (n: number) => n > 0 && done % n === 0;
    const report: StepReport = {};
    if (last || every(spec.evalEvery)) {
      report.eval = evaluateReplica(this.replica);
      report.sample = sampleText(this.replica.model);
    }
    if (this.checkpointDir !== undefined && this.checkpointsAfter(done)) {
      const position = dataPosition(this.replica, this.requireLoader(), done);
      report.checkpoint = saveRunCheckpoint(this.replica, position, this.checkpointDir, spec.keepCheckpoints);
    }
    return Promise.resolve(report);
  }

  /**
   * Whether rank 0 checkpoints after `done` steps: every `checkpointEvery` steps and after the last.
   * In DiLoCo mode only after an outer step (between them every worker holds other parameters): the
   * first one at or after each `checkpointEvery`-th step.
   */
  private checkpointsAfter(done: number): boolean {
    const { steps, checkpointEvery: every, sync } = this.replica.spec;
    if (done >= steps) return true;
    if (every <= 0) return false;
    if (sync.mode !== 'diloco') return done % every === 0;
    const H = sync.innerSteps;
    return done % H === 0 && Math.floor(done / every) > Math.floor((done - H) / every);
  }

  dispose(): void {
    this.replica.model.dispose();
  }

  private requireLoader(): DistributedBatchLoader {
    if (!this.loader) throw new Error(`run ${this.jobId}: join a ring before taking a step`);
    return this.loader;
  }
}
