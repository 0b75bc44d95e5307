/**
 * The one driver of every kind of training job (pretraining runs, finetunes; each a
 * {@link TrainingJobKind}). It forms a ring of live workers for a job (a new attempt each time),
 * enqueues one BullMQ flow at a time — the steps until the ranks next meet: one data-parallel step,
 * or in DiLoCo mode the inner steps up to the next outer step —, advances the job by the steps the
 * flow covered when every rank reports success, and on any failure — a rank's error, a lost worker,
 * a flow past its deadline — forms a new ring from the workers still alive and re-runs the flow: from
 * the replicas in memory when every member holds the job at the flow's first step, else from the
 * newest usable checkpoint (a run's) or saved state (a finetune's); the loss curve then continues
 * exactly, since the batch of a step depends on the step alone. Everything it decides is stored in
 * Redis first, so a restarted coordinator continues where this one stopped; a Redis that lost its
 * data gets the active jobs back from this process's memory.
 *
 * Workers come from the shared {@link WorkerPool}. One coordinator drives a cluster; actions on one
 * job are serialised by a per-job lock.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  stepJobId,
  type JobKind,
  type RankResult,
  type RankSuccess,
  type StepJobData,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { PeriodicDriver } from '../common/periodic-driver';
import { isTerminal, TRANSITIONS, type RunAction } from '../runs/run-state';
import { WorkerPool, type Ring } from '../workers/worker-pool';
import { WorkerRegistry, type WorkerRecord } from '../workers/worker-registry';
import { StepScheduler } from './step-scheduler.service';
import type { DrivenJob, TrainingJobKind } from './training-job-kind';

/**
 * How often the driver looks at every active job. A create, a resume and a worker's registration
 * kick a pass at once, and a step's results advance its job directly; the timer is for what nothing
 * announces (a member that stopped heartbeating, a step job lost with Redis's data). Each pass costs
 * Redis round trips for every active job, CPU that training hosts share with the coordinator.
 */
const TICK_MS = 1000;

type Kind = TrainingJobKind<DrivenJob>;
type RankFailure = Extract<RankResult, { ok: false }>;

/** Drives every active training job, of every kind. */
@Injectable()
export class JobDriver extends PeriodicDriver {
  private readonly kinds = new Map<JobKind, Kind>();
  /** Active jobs as last seen (by id; ids are unique across kinds), to restore them if Redis loses its data. */
  private readonly known = new Map<string, { kind: Kind; job: DrivenJob }>();

  constructor(
    private readonly scheduler: StepScheduler,
    private readonly registry: WorkerRegistry,
    private readonly pool: WorkerPool,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    super(TICK_MS, log.child({ component: 'job-driver' }));
  }

  /** Adds a kind of training job (each kind's module registers its own at construction). */
  register<J extends DrivenJob>(kind: TrainingJobKind<J>): void {
    const k = kind as unknown as Kind;
    this.kinds.set(kind.kind, k);
    this.pool.addSource({
      kind: kind.kind,
      holding: async () =>
        (await k.repository.list()).filter((j) => !isTerminal(j.status) && k.holdsMembers(j)),
    });
  }

  /**
   * Stops scheduling a job that was paused or cancelled: removes its pending step job (a rank
   * already running it finishes, and its result is ignored) and frees its workers for other jobs.
   */
  async release(kind: JobKind, id: string): Promise<void> {
    const k = this.kindOf(kind);
    const job = await k.repository.get(id);
    if (!job) return;
    if (job.stepJobId !== undefined && (await this.scheduler.remove(id, job.stepJobId)))
      await k.repository.update(id, { stepJobId: undefined });
    await this.pool.release({ kind, id }, job.members);
    if (isTerminal(job.status)) this.known.delete(id);
    await this.publish(k, id);
  }

  /** One pass over the active jobs: start queued ones, re-form rings that lost a member. */
  protected async pass(): Promise<void> {
    await this.restoreLostJobs();
    for (const k of this.kinds.values()) {
      for (const job of (await k.repository.list()).filter((j) => !isTerminal(j.status))) {
        // First seen (just created, or this coordinator just started): clients learn it exists.
        const seen = this.known.has(job.id);
        this.known.set(job.id, { kind: k, job });
        await this.withLock(job.id, async () => {
          if (!seen) await this.publish(k, job.id);
          await this.examine(k, job.id);
        });
      }
    }
  }

  /**
   * Called by the step processor with the ranks' results of a parent step job; advances the job or
   * re-runs the step. Results of an attempt that is no longer current are ignored.
   */
  async onStepDone(step: StepJobData, results: RankResult[], finishedAt = Date.now()): Promise<void> {
    const k = this.kindOf(step.kind);
    await this.withLock(step.jobId, async () => {
      const job = await k.repository.get(step.jobId);
      if (!job || job.progress.step !== step.step || job.progress.attempt !== step.attempt) {
        this.log.debug(
          { jobId: step.jobId, step: step.step, attempt: step.attempt },
          'stale step result ignored',
        );
        return;
      }
      if (isTerminal(job.status)) return;
      const failures = results.filter((r) => !r.ok);
      const covered = (r: RankSuccess) =>
        r.steps.length === step.endStep - step.step && r.steps.every((s, i) => s.step === step.step + i);
      if (failures.length > 0 || results.length !== step.worldSize) {
        await this.retry(k, job, results, failures.length === 0 ? 'missing rank results' : undefined);
      } else if (!(results as RankSuccess[]).every(covered)) {
        await this.retry(k, job, results, `rank results do not cover steps ${step.step}-${step.endStep - 1}`);
      } else {
        await this.advance(k, job, results as RankSuccess[], finishedAt);
      }
    });
  }

  // ---- decisions -------------------------------------------------------------------------------

  private async examine(k: Kind, id: string): Promise<void> {
    const job = await k.repository.get(id);
    if (!job || isTerminal(job.status) || job.status === 'paused') return;
    if (job.status === 'queued' || job.stepJobId === undefined) {
      await this.form(k, job);
      return;
    }
    if (!(await this.scheduler.exists(job.stepJobId))) {
      // Stored but never enqueued (the coordinator died in between): enqueue it now.
      this.log.warn(
        { jobId: id, step: job.progress.step, stepJobId: job.stepJobId },
        'step job missing; enqueued again',
      );
      await this.scheduler.enqueue(k, job);
    }
    const now = Date.now();
    const lost = await this.pool.lost(job.members, now);
    const { step } = job.progress;
    // The deadline scales with the steps of the flow: FORGE_STEP_TIMEOUT_MS is per step.
    const steps = (k.jobEnd?.(job, step) ?? step + 1) - step;
    const deadlineMs = this.config.stepTimeoutMs * steps;
    if (lost.length > 0) {
      await this.abort(k, job, `worker ${lost.map((m) => m.workerId).join(', ')} stopped answering`);
      await this.form(k, await this.require(k, id));
    } else if (
      job.stepStartedAt !== undefined &&
      now - job.stepStartedAt > deadlineMs &&
      !k.untimed?.(job, step)
    ) {
      const what = steps === 1 ? `step ${step}` : `steps ${step}-${step + steps - 1}`;
      const limit = `FORGE_STEP_TIMEOUT_MS (${this.config.stepTimeoutMs} ms)${steps === 1 ? '' : ` x ${steps} steps`}`;
      await this.abort(k, job, `${what} ran past ${limit}`);
      await this.form(k, await this.require(k, id));
    }
  }

  /** Forms a ring of live, free workers for the job and enqueues its current step. */
  private async form(k: Kind, job: DrivenJob): Promise<void> {
    const started = job.members !== undefined || job.progress.step > 0 || job.progress.attempt > 0;
    const attempt = started ? job.progress.attempt + 1 : 0;
    const next = await this.pool.form(
      {
        kind: k.kind,
        id: job.id,
        size: job.spec.workers,
        // A new job waits for the workers it asked for; a running one continues with whoever is left
        // (the global batch is the same, so the result is too).
        minimum: started ? 1 : job.spec.workers,
        attempt,
        current: job.members,
        // Holders continue from the replica in memory, without a rewind.
        holds: (w) => w.held?.jobId === job.id && w.held.appliedSteps === job.progress.step,
      },
      (ring) => this.recordRing(k, job, ring, attempt),
    );
    if (next === undefined) {
      if (job.status === 'running' && job.stepJobId !== undefined)
        await k.repository.update(job.id, { stepJobId: undefined });
      return;
    }
    const stepJob = await this.scheduler.enqueue(k, next);
    await k.repository.update(job.id, { stepJobId: stepJob });
    this.log.info(
      {
        [k.kind]: job.id,
        step: next.progress.step,
        attempt: next.progress.attempt,
        workers: next.members?.map((m) => m.workerId),
        resumeFrom: next.resumeFrom,
      },
      'ring formed',
    );
    await this.publish(k, job.id);
  }

  /**
   * Stores a new ring (under the pool lock): where its attempt starts — rewinding the history if that
   * is a checkpoint before the current step — and the job started if it was queued. Returns the job
   * as its next step is to be enqueued.
   */
  private async recordRing(k: Kind, job: DrivenJob, ring: Ring, attempt: number): Promise<DrivenJob> {
    const now = Date.now();
    const from = await this.startingPoint(k, job, ring.workers);
    if (from.step !== job.progress.step) {
      await k.truncateHistory(job.id, from.step);
      this.log.warn(
        { jobId: job.id, from: job.progress.step, to: from.step, checkpoint: from.resumeFrom },
        'job rewound',
      );
    }
    const progress = { ...job.progress, step: from.step, attempt };
    const next = { ...job, members: ring.members, resumeFrom: from.resumeFrom, progress, stepStartedAt: now };
    await k.repository.update(job.id, {
      members: ring.members,
      resumeFrom: from.resumeFrom,
      progress,
      stepStartedAt: now,
      stepJobId: undefined,
    });
    if (job.status === 'queued') await this.transition(k, job.id, 'start');
    return next;
  }

  /** Where the next attempt starts: the replicas in memory, a checkpoint, or step 0. */
  private async startingPoint(
    k: Kind,
    job: DrivenJob,
    chosen: WorkerRecord[],
  ): Promise<{ step: number; resumeFrom?: string }> {
    const { step } = job.progress;
    if (job.resumeFrom !== undefined && !job.badCheckpoints.includes(job.resumeFrom)) {
      return { step, resumeFrom: job.resumeFrom };
    }
    if (step === 0) return { step: 0 };
    const inMemory = chosen.every((w) => w.held?.jobId === job.id && w.held.appliedSteps === step);
    if (inMemory) return { step };
    const checkpoints = (await k.checkpoints(job)).filter(
      (c) => c.complete && c.step !== null && c.step <= step && !job.badCheckpoints.includes(c.path),
    );
    const newest = checkpoints.at(-1);
    if (newest && newest.step !== null) return { step: newest.step, resumeFrom: newest.path };
    return { step: 0 };
  }

  /**
   * Records a successful flow and enqueues the next (or completes the job). The job's new position
   * (past every step the flow covered) and the next flow's (deterministic) job id are stored before
   * it is enqueued, so a coordinator that dies in between finds the flow missing and enqueues it
   * again ({@link examine}); the steps' metrics follow off the critical path.
   */
  private async advance(k: Kind, job: DrivenJob, results: RankSuccess[], finishedAt: number): Promise<void> {
    const ranked = [...results].sort((a, b) => a.rank - b.rank);
    const last = ranked[0].steps[ranked[0].steps.length - 1];
    const step = last.step + 1;
    // A finetune's length is known once its data is loaded: rank 0 reports it with every step.
    const totalSteps = last.finetune?.totalSteps ?? job.progress.totalSteps;
    const done = step >= totalSteps;
    const now = Date.now();
    const progress = { ...job.progress, step, totalSteps };
    const stepJob =
      done || job.status !== 'running' ? undefined : stepJobId(job.id, step, job.progress.attempt);
    const position = { progress, retries: 0, resumeFrom: undefined, stepStartedAt: now, stepJobId: stepJob };
    await k.repository.update(job.id, position);
    if (stepJob !== undefined) await this.scheduler.enqueue(k, { ...job, ...position });

    const flowMs = job.stepStartedAt !== undefined ? finishedAt - job.stepStartedAt : ranked[0].jobMs;
    await k.recordSteps({ ...job, ...position }, ranked, flowMs);
    await this.registry.setHeldMany(
      ranked.map((r) => ({ id: r.workerId, held: { jobId: job.id, appliedSteps: r.appliedSteps } })),
    );
    if (done) {
      await this.transition(k, job.id, 'complete');
      await this.pool.release({ kind: k.kind, id: job.id }, job.members);
      this.known.delete(job.id);
      this.log.info({ [k.kind]: job.id, steps: step, loss: last.loss }, `${k.kind} completed`);
    }
    await this.publish(k, job.id);
  }

  /**
   * Handles a failed attempt: fail the job, or form a new ring and re-run the flow (a paused job's
   * flow, stopped by the pause, waits for resume).
   */
  private async retry(k: Kind, job: DrivenJob, results: RankResult[], missing?: string): Promise<void> {
    const failures = results.filter((r): r is RankFailure => !r.ok);
    await this.registry.setHeldMany(
      failures.map((f) => ({
        id: f.workerId,
        held: f.appliedSteps === null ? undefined : { jobId: job.id, appliedSteps: f.appliedSteps },
      })),
    );
    const fatal = failures.find((f) => f.kind === 'fatal');
    if (fatal) {
      await this.fail(k, job, `step ${job.progress.step} failed: ${describe(fatal)}`);
      return;
    }
    const badCheckpoints = [...job.badCheckpoints];
    for (const f of failures.filter((x) => x.kind === 'checkpoint')) {
      const bad = job.resumeFrom ?? f.file;
      if (bad !== undefined && !badCheckpoints.includes(bad)) badCheckpoints.push(bad);
      this.log.error(
        { jobId: job.id, checkpoint: bad, err: f.error },
        'checkpoint unusable; falling back to an older one',
      );
    }
    if (job.status === 'paused') {
      // Stopped by the pause (told by heartbeat, a DiLoCo flow stops at its next inner step, its
      // ranks back at the outer step it began at): no failure to count; resume re-runs the flow.
      await k.repository.update(job.id, { badCheckpoints, stepJobId: undefined, resumeFrom: undefined });
      await this.publish(k, job.id);
      return;
    }
    const retries = job.retries + 1;
    const failedAttempts = (job.failedAttempts ?? 0) + 1;
    const reason = failures.length > 0 ? failures.map(describe).join('; ') : (missing ?? 'unknown');
    if (await this.outOfRetries(k, job, retries, failedAttempts, reason)) return;
    this.log.warn(
      { jobId: job.id, step: job.progress.step, attempt: job.progress.attempt, retries, reason },
      'step failed; re-running',
    );
    await k.repository.update(job.id, {
      retries,
      failedAttempts,
      badCheckpoints,
      stepJobId: undefined,
      resumeFrom: undefined,
    });
    const current = await this.require(k, job.id);
    if (current.status === 'running') await this.form(k, current);
    else await this.publish(k, job.id);
  }

  /** Abandons the pending attempt (its late results will be ignored). */
  private async abort(k: Kind, job: DrivenJob, reason: string): Promise<void> {
    this.log.warn(
      { jobId: job.id, step: job.progress.step, attempt: job.progress.attempt, reason },
      'step aborted',
    );
    if (job.stepJobId !== undefined) await this.scheduler.remove(job.id, job.stepJobId);
    const retries = job.retries + 1;
    const failedAttempts = (job.failedAttempts ?? 0) + 1;
    await k.repository.update(job.id, { stepJobId: undefined, retries, failedAttempts });
    await this.outOfRetries(k, job, retries, failedAttempts, reason);
  }

  /**
   * Fails the job when its step has failed more than FORGE_MAX_STEP_RETRIES times, or the job more
   * than FORGE_MAX_JOB_RETRIES times in all (a failure that comes back after every rewind).
   */
  private async outOfRetries(
    k: Kind,
    job: DrivenJob,
    retries: number,
    failedAttempts: number,
    reason: string,
  ): Promise<boolean> {
    const { step } = job.progress;
    if (retries > this.config.maxStepRetries) {
      await this.fail(k, job, `step ${step} failed ${retries} times; last: ${reason}`);
      return true;
    }
    if (failedAttempts > this.config.maxJobRetries) {
      const limit = `FORGE_MAX_JOB_RETRIES is ${this.config.maxJobRetries}`;
      await this.fail(
        k,
        job,
        `${failedAttempts} failed attempts over the ${k.kind} (${limit}); last, at step ${step}: ${reason}`,
      );
      return true;
    }
    return false;
  }

  private async fail(k: Kind, job: DrivenJob, error: string): Promise<void> {
    await k.repository.update(job.id, { error, stepJobId: undefined });
    await this.transition(k, job.id, 'fail');
    await this.pool.release({ kind: k.kind, id: job.id }, job.members);
    this.known.delete(job.id);
    this.log.error({ [k.kind]: job.id, err: error }, `${k.kind} failed`);
    await this.publish(k, job.id);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private kindOf(kind: JobKind): Kind {
    const k = this.kinds.get(kind);
    if (!k) throw new Error(`no driver registered for ${kind} jobs`);
    return k;
  }

  private async transition(k: Kind, id: string, action: RunAction): Promise<void> {
    const { from, to } = TRANSITIONS[action];
    await k.repository.transition(id, from, to);
  }

  private async require(k: Kind, id: string): Promise<DrivenJob> {
    const job = await k.repository.get(id);
    if (!job) throw new Error(`${k.kind} ${id} disappeared from Redis`);
    return job;
  }

  private async publish(k: Kind, id: string): Promise<void> {
    const job = await k.repository.get(id);
    if (!job) return;
    if (isTerminal(job.status)) this.known.delete(id);
    else this.known.set(id, { kind: k, job });
    await k.publish(job);
  }

  /**
   * Redis without persistence forgets everything when it restarts. Active jobs this process knows
   * are written back (queued, to be re-formed from the replicas the workers still hold or from the
   * newest checkpoint, as a new attempt, so that a rank still running an old one is told to stop);
   * what they recorded before the loss is gone.
   */
  private async restoreLostJobs(): Promise<void> {
    for (const [id, { kind, job }] of this.known) {
      if (await kind.repository.get(id)) continue;
      await kind.repository.create({
        ...job,
        status: 'queued',
        stepJobId: undefined,
        resumeFrom: undefined,
        error: undefined,
        updatedAt: new Date().toISOString(),
      } as DrivenJob);
      this.log.warn(
        { [kind.kind]: id, step: job.progress.step },
        `Redis lost this ${kind.kind} (restart without persistence); restored it from memory`,
      );
    }
  }
}

/** A rank's failure in one line: rank, worker, error and the file it names. */
function describe(f: RankFailure): string {
  const file = f.file && !f.error.includes(f.file) ? ` [${f.file}]` : '';
  return `rank ${f.rank} (worker ${f.workerId}): ${f.error}${file}`;
}
