/**
 * Everything a worker does for one rank job, whatever the kind of training job (a pretraining run, a
 * finetune): make sure it holds the job's replica at the job's first step (kept in memory from the
 * previous job, loaded from a checkpoint or saved state, or fresh at step 0), join the job's ring
 * generation, then take the job's steps [step, endStep) back to back — one in DDP and finetunes, the
 * inner steps up to the next outer step in DiLoCo — each on its share of the global batch and each
 * followed by what the job asks after that step (evaluations, checkpoints on rank 0, the end of a
 * finetune). Between steps it yields to the event loop (the ring's server, an abort message) and
 * stops when told to. Never throws: every outcome is a {@link RankResult}, so the coordinator's
 * parent step job always runs and decides (retry, resume, fail).
 */
import { CollectiveError, type AllReduceRing } from '@llm-forge/collective';
import {
  jobAttemptId,
  type FailureKind,
  type RankJobData,
  type RankResult,
  type RankStepReport,
  type RankSuccess,
} from '@llm-forge/cluster-protocol';
import { ShardError } from '@llm-forge/data-shards';
import { FinetuneAbortedError, FinetuneReplica } from '@llm-forge/finetune';
import { CheckpointError, ForgeError } from '@llm-forge/gpt';
import {
  OuterStepMark,
  PretrainingReplica,
  ReplicaDivergenceError,
  RingCollective,
  TrainingLoop,
  type JobReplica,
} from '@llm-forge/training';

/** A job's failure with its kind and the file it is about. */
class StepFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** The ring generation this worker is in: which job, attempt and members. */
interface RingGeneration {
  key: string;
  loop: TrainingLoop;
}

/** Opens the replica of a rank job's training job at its step: fresh, or from `resumeFrom`. */
function openReplica(job: RankJobData): JobReplica {
  if (job.kind === 'run') {
    return PretrainingReplica.open(job, job.step, job.resumeFrom);
  }
  const start =
    job.resumeFrom !== undefined
      ? { from: 'dir' as const, dir: job.resumeFrom, step: job.step }
      : { from: 'fresh' as const };
  return FinetuneReplica.open(job.jobId, job.spec, { outDir: job.outDir }, start);
}

/** A worker's training state across rank jobs. One job at a time. */
export class TrainingSession {
  private replica?: JobReplica;
  private generation?: RingGeneration;
  /** DiLoCo: the way back to the outer step the running job began at (the held replica's). */
  private mark?: OuterStepMark;
  /** Highest attempt seen per job, to refuse stale jobs of an aborted attempt. */
  private readonly attempts = new Map<string, number>();
  /** Why the running job attempt must stop, by its `jobAttemptId`, when the coordinator said so. */
  private abortReason?: { job: string; reason: string };

  constructor(
    /** This worker's id (reported back in results). */
    readonly workerId: string,
    /** This worker's collective endpoint; reconfigured for every ring generation. */
    readonly ring: AllReduceRing,
    private readonly log?: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** The job and step count of the replica held in memory, if any. */
  held(): { jobId: string; appliedSteps: number } | undefined {
    return this.replica && { jobId: this.replica.jobId, appliedSteps: this.replica.trainer.stepsDone };
  }

  /**
   * Stops the attempt `jobKey` (its `jobAttemptId`, `<jobId>.a<attempt>`) at its next check — between
   * the steps of a job, and during a finetune's long final evaluation — when the coordinator says the
   * attempt was superseded or cancelled.
   */
  abort(jobKey: string, reason: string): void {
    this.abortReason = { job: jobKey, reason };
  }

  /** Runs one rank job, all its steps; resolves to its result (success or a classified failure). */
  async run(job: RankJobData): Promise<RankResult> {
    const started = performance.now();
    this.abortReason = undefined;
    let marked = false;
    try {
      this.refuseStale(job);
      const replica = this.ensureReplica(job);
      const generation = await this.ensureGeneration(job, replica);
      marked = this.markOuterStep(replica);
      const steps: RankStepReport[] = [];
      for (let step = job.step; step < job.endStep; step++) {
        if (step > job.step) await this.between(job);
        steps.push(await this.step(job, replica, generation, step));
      }
      const success: RankSuccess = {
        ok: true,
        workerId: this.workerId,
        rank: job.rank,
        step: job.step,
        appliedSteps: replica.trainer.stepsDone,
        jobMs: performance.now() - started,
        steps,
      };
      return success;
    } catch (error) {
      if (marked) this.rollBack();
      return this.failure(job, error);
    }
  }

  /** Frees the replica (e.g. when the job ended). */
  release(): void {
    this.replica?.dispose();
    this.replica = undefined;
    this.generation = undefined;
    this.mark = undefined;
  }

  private refuseStale(job: RankJobData): void {
    const newest = this.attempts.get(job.jobId) ?? -1;
    if (job.attempt < newest) {
      throw new StepFailure(
        'transient',
        `stale job: attempt ${job.attempt} of step ${job.step} after attempt ${newest}`,
      );
    }
    this.attempts.set(job.jobId, job.attempt);
  }

  private ensureReplica(job: RankJobData): JobReplica {
    const held = this.replica;
    if (job.resumeFrom === undefined && held?.jobId === job.jobId && held.trainer.stepsDone === job.step) {
      return held;
    }
    if (job.resumeFrom === undefined && job.step !== 0) {
      const has = held ? `job ${held.jobId} after ${held.trainer.stepsDone} steps` : 'no replica';
      throw new StepFailure('state', `holds ${has}, not job ${job.jobId} after ${job.step} steps`);
    }
    this.release();
    this.replica = openReplica(job);
    return this.replica;
  }

  private async ensureGeneration(job: RankJobData, replica: JobReplica): Promise<RingGeneration> {
    const addresses = job.peers.map((p) => p.address);
    const key = JSON.stringify([job.jobId, job.attempt, job.rank, addresses]);
    if (this.generation?.key === key && this.generation.loop.trainer === replica.trainer)
      return this.generation;
    this.generation = undefined;
    this.ring.reconfigure({ rank: job.rank, worldSize: job.worldSize, jobId: job.jobId });
    await this.ring.connect(addresses);
    const collective = new RingCollective(this.ring, { attempt: job.attempt });
    const loop = new TrainingLoop(replica.trainer, collective, replica.loopOptions);
    await replica.join(loop, job.rank, job.worldSize);
    this.generation = { key, loop };
    return this.generation;
  }

  /**
   * DiLoCo: records the outer step the job begins at, to come back to after a failure
   * ({@link rollBack}). False in DDP, where a failed step leaves the replica as it was.
   */
  private markOuterStep(replica: JobReplica): boolean {
    const outer = replica.loopOptions?.outer;
    if (!outer) return false;
    if (this.mark === undefined) this.mark = new OuterStepMark(replica.trainer, outer);
    this.mark.take(); // false between outer steps: a failure then drops the replica
    return true;
  }

  /**
   * After a failure part-way through a DiLoCo job: back to the last outer step the replica completed
   * (the job's first step, unless its outer step was applied), so a new ring can re-run the job from
   * memory; without a way back, the replica is dropped (the coordinator rewinds to a checkpoint).
   */
  private rollBack(): void {
    if (!this.mark?.rollBack()) this.release();
  }

  /**
   * Between two steps of a job: yields to the event loop, so the ring's server, timers and messages
   * from the main thread (an abort) run while no communication happens; then stops the job if the
   * coordinator cancelled, paused or superseded its attempt.
   */
  private async between(job: RankJobData): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const reason = this.abortReason?.job === jobAttemptId(job.jobId, job.attempt) && this.abortReason.reason;
    if (reason) throw new StepFailure('transient', reason);
  }

  /** One step of the job and what the job asks after it. */
  private async step(
    job: RankJobData,
    replica: JobReplica,
    generation: RingGeneration,
    step: number,
  ): Promise<RankStepReport> {
    const { loop } = generation;
    const started = performance.now();
    const metrics = await loop.step(replica.share(step));
    const wallMs = performance.now() - started;
    const jobKey = jobAttemptId(job.jobId, job.attempt);
    const report = await replica.afterStep(loop, metrics, {
      abortReason: () => (this.abortReason?.job === jobKey ? this.abortReason.reason : undefined),
      log: this.log,
    });
    return {
      step: metrics.step,
      loss: metrics.loss,
      localLoss: metrics.localLoss,
      ...(metrics.localTokens !== undefined ? { localTokens: metrics.localTokens } : {}),
      tokens: metrics.tokens,
      lr: metrics.lr,
      gradNorm: metrics.gradNorm,
      computeMs: metrics.computeMs,
      commMs: metrics.communicationMs,
      wallMs,
      bytesSent: metrics.bytesSent,
      verified: metrics.verified,
      ...report,
    };
  }

  private failure(job: RankJobData, error: unknown): RankResult {
    const { kind, file } = classify(error, job.resumeFrom);
    if (kind !== 'transient' && kind !== 'state') this.generation = undefined;
    return {
      ok: false,
      workerId: this.workerId,
      rank: job.rank,
      step: job.step,
      appliedSteps: this.replica?.jobId === job.jobId ? this.replica.trainer.stepsDone : null,
      kind,
      error: (error as Error).message ?? String(error),
      ...(file !== undefined ? { file } : {}),
    };
  }
}

/** Errors of a file system that will not take a write, whoever retries. */
const DISK_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EIO']);

function isDiskError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && DISK_ERRORS.has(code);
}

/**
 * Which kind of failure an error is, and the file it names. A checkpoint error is a `checkpoint`
 * failure (fall back to an older one) only when it is about the checkpoint the job resumed from;
 * an unusable base or init model, or a checkpoint that cannot be written, fails the job.
 */
function classify(error: unknown, resumeFrom?: string): { kind: FailureKind; file?: string } {
  if (error instanceof StepFailure) return { kind: error.kind, file: error.file };
  if (error instanceof CollectiveError || error instanceof FinetuneAbortedError) return { kind: 'transient' };
  if (error instanceof ReplicaDivergenceError) return { kind: 'fatal' };
  if (error instanceof CheckpointError) {
    const fromResume = resumeFrom !== undefined && error.file.startsWith(resumeFrom);
    return { kind: fromResume ? 'checkpoint' : 'fatal', file: error.file };
  }
  if (error instanceof ShardError) return { kind: 'fatal', file: error.file };
  // A disk that refuses a write (a checkpoint, a state) fails the same way on a retry: fail the
  // job with the reason, instead of rewinding to the same failure over and over.
  if (isDiskError(error)) return { kind: 'fatal', file: error.path };
  if (error instanceof ForgeError) return { kind: 'fatal' };
  return { kind: 'transient' };
}
