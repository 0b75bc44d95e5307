/**
 * Drives runs through their steps. It forms a ring of live workers for a run (a new attempt each
 * time), enqueues one step at a time, advances the run when every rank reports success, and on any
 * failure — a rank's error, a lost worker, a step past its deadline — forms a new ring from the
 * workers still alive and re-runs the step: from the replicas in memory when every member holds the
 * run at that step, else from the newest usable checkpoint (the loss curve then continues exactly,
 * since the data of a step depends on the step alone). Everything it decides is stored in Redis
 * first, so a restarted coordinator continues where this one stopped; a Redis that lost its data
 * gets the active runs back from this process's memory.
 *
 * Workers come from the shared {@link WorkerPool}: this driver tells it which runs hold their members
 * (every run neither finished nor paused) and asks it for rings; finetunes draw on the same pool.
 *
 * One coordinator drives a cluster; actions on one run are serialised by a per-run lock.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { stepJobId, type RankResult, type RankSuccess, type StepJobData } from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { JobEvents } from '../events/job-events.service';
import { PINO_LOGGER } from '../logging/logger';
import { PeriodicDriver } from '../common/periodic-driver';
import { WorkerPool, type Ring } from '../workers/worker-pool';
import { WorkerRegistry, type WorkerRecord } from '../workers/worker-registry';
import { listCheckpoints } from './checkpoints';
import { isTerminal, TRANSITIONS, type RunAction } from './run-state';
import type { Run, StepMetrics } from './run.model';
import { RunsRepository } from './runs.repository';
import { StepScheduler } from './step-scheduler.service';

/** How often the driver looks at every active run. */
const TICK_MS = 250;

/** Drives every active run. */
@Injectable()
export class RunDriver extends PeriodicDriver {
  /** Frees the workers of a run that was paused or cancelled, so other runs can use them. */
  async release(runId: string): Promise<void> {
    const run = await this.repo.get(runId);
    if (!run) return;
    await this.pool.release({ kind: 'run', id: run.id }, run.members);
    await this.publish(runId);
  }

  /** Active runs as last seen, to restore them if Redis loses its data. */
  private readonly known = new Map<string, Run>();

  constructor(
    private readonly repo: RunsRepository,
    private readonly scheduler: StepScheduler,
    private readonly registry: WorkerRegistry,
    private readonly pool: WorkerPool,
    private readonly events: JobEvents,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    super(TICK_MS, log.child({ component: 'run-driver' }));
    // A paused run keeps its members on record (to prefer them on resume) but holds none of them.
    pool.addSource({
      kind: 'run',
      holding: async () => (await repo.list()).filter((r) => !isTerminal(r.status) && r.status !== 'paused'),
    });
  }

  /** One pass over the active runs: start queued ones, re-form rings that lost a member. */
  protected async pass(): Promise<void> {
    await this.restoreLostRuns();
    const runs = (await this.repo.list()).filter((r) => !isTerminal(r.status));
    for (const run of runs) {
      this.known.set(run.id, run);
      await this.withLock(run.id, () => this.examine(run.id));
    }
  }

  /**
   * Called by the step processor with the ranks' results of a parent step job; advances the run or
   * re-runs the step. Results of an attempt that is no longer current are ignored.
   */
  async onStepDone(job: StepJobData, results: RankResult[], finishedAt = Date.now()): Promise<void> {
    await this.withLock(job.runId, async () => {
      const run = await this.repo.get(job.runId);
      if (!run || run.progress.step !== job.step || run.progress.attempt !== job.attempt) {
        this.log.debug(
          { runId: job.runId, step: job.step, attempt: job.attempt },
          'stale step result ignored',
        );
        return;
      }
      if (isTerminal(run.status)) return;
      const failures = results.filter((r) => !r.ok);
      if (failures.length === 0 && results.length === job.worldSize) {
        await this.advance(run, results as RankSuccess[], finishedAt);
      } else {
        await this.retry(run, results, failures.length === 0 ? 'missing rank results' : undefined);
      }
    });
  }

  // ---- decisions -------------------------------------------------------------------------------

  private async examine(runId: string): Promise<void> {
    const run = await this.repo.get(runId);
    if (!run || isTerminal(run.status) || run.status === 'paused') return;
    if (run.status === 'queued' || run.stepJobId === undefined) {
      await this.form(run);
      return;
    }
    if (!(await this.scheduler.exists(run.stepJobId))) {
      // Stored but never enqueued (the coordinator died in between): enqueue it now.
      this.log.warn(
        { runId: run.id, step: run.progress.step, jobId: run.stepJobId },
        'step job missing; enqueued again',
      );
      await this.scheduler.enqueue(run, this.plan(run));
    }
    const now = Date.now();
    const lost = await this.pool.lost(run.members, now);
    if (lost.length > 0) {
      const names = lost.map((m) => m.workerId).join(', ');
      await this.abort(run, `worker ${names} stopped answering`);
      await this.form(await this.require(runId));
    } else if (run.stepStartedAt !== undefined && now - run.stepStartedAt > this.config.stepTimeoutMs) {
      await this.abort(
        run,
        `step ${run.progress.step} ran past FORGE_STEP_TIMEOUT_MS (${this.config.stepTimeoutMs} ms)`,
      );
      await this.form(await this.require(runId));
    }
  }

  /** Forms a ring of live, free workers for the run and enqueues its current step. */
  private async form(run: Run): Promise<void> {
    const started = run.members !== undefined || run.progress.step > 0 || run.progress.attempt > 0;
    const attempt = started ? run.progress.attempt + 1 : 0;
    const next = await this.pool.form(
      {
        kind: 'run',
        id: run.id,
        size: run.spec.workers,
        // A new run waits for the workers it asked for; a running one continues with whoever is left.
        minimum: started ? 1 : run.spec.workers,
        attempt,
        current: run.members,
        // Holders continue from the replica in memory, without a rewind.
        holds: (w) => w.held?.runId === run.id && w.held.appliedSteps === run.progress.step,
      },
      (ring) => this.recordRing(run, ring, attempt),
    );
    if (next === undefined) {
      if (run.status === 'running' && run.stepJobId !== undefined)
        await this.repo.update(run.id, { stepJobId: undefined });
      return;
    }
    const stepJobId = await this.scheduler.enqueue(next, this.plan(next));
    await this.repo.update(run.id, { stepJobId });
    this.log.info(
      {
        runId: run.id,
        step: next.progress.step,
        attempt: next.progress.attempt,
        workers: next.members?.map((m) => m.workerId),
        resumeFrom: next.resumeFrom,
      },
      'ring formed',
    );
    await this.publish(run.id);
  }

  /**
   * Stores a new ring (under the pool lock): where its attempt starts — rewinding the history if that
   * is a checkpoint before the current step — and the run started if it was queued. Returns the run
   * as its next step is to be enqueued.
   */
  private async recordRing(run: Run, ring: Ring, attempt: number): Promise<Run> {
    const now = Date.now();
    const from = await this.startingPoint(run, ring.workers);
    if (from.step !== run.progress.step) {
      await this.repo.truncateHistory(run.id, from.step);
      this.log.warn(
        { runId: run.id, from: run.progress.step, to: from.step, checkpoint: from.resumeFrom },
        'run rewound',
      );
    }
    const next: Run = {
      ...run,
      members: ring.members,
      resumeFrom: from.resumeFrom,
      progress: { ...run.progress, step: from.step, attempt },
      stepStartedAt: now,
    };
    await this.repo.update(run.id, {
      members: ring.members,
      resumeFrom: from.resumeFrom,
      progress: next.progress,
      stepStartedAt: now,
      stepJobId: undefined,
    });
    if (run.status === 'queued') await this.transition(run.id, 'start');
    return next;
  }

  /** Where the next attempt starts: the replicas in memory, a checkpoint, or step 0. */
  private async startingPoint(
    run: Run,
    chosen: WorkerRecord[],
  ): Promise<{ step: number; resumeFrom?: string }> {
    const step = run.progress.step;
    if (run.resumeFrom !== undefined && !run.badCheckpoints.includes(run.resumeFrom)) {
      return { step, resumeFrom: run.resumeFrom };
    }
    if (step === 0) return { step: 0 };
    const inMemory = chosen.every((w) => w.held?.runId === run.id && w.held.appliedSteps === step);
    if (inMemory) return { step };
    const checkpoints = (await listCheckpoints(run.checkpointDir)).filter(
      (c) => c.complete && c.step !== null && c.step <= step && !run.badCheckpoints.includes(c.path),
    );
    const newest = checkpoints.at(-1);
    if (newest && newest.step !== null) return { step: newest.step, resumeFrom: newest.path };
    return { step: 0 };
  }

  /**
   * Records a successful step and enqueues the next (or completes the run). The run's new position
   * and the next step's (deterministic) job id are stored before the job is enqueued, so a coordinator
   * that dies in between finds the job missing and enqueues it again ({@link examine}); the step's
   * metrics follow off the critical path.
   */
  private async advance(run: Run, results: RankSuccess[], finishedAt: number): Promise<void> {
    const ranked = [...results].sort((a, b) => a.rank - b.rank);
    const lead = ranked[0];
    const step = lead.step + 1;
    const done = step >= run.progress.totalSteps;
    const now = Date.now();
    const next: Run = {
      ...run,
      progress: { ...run.progress, step },
      retries: 0,
      resumeFrom: undefined,
      stepStartedAt: now,
      tokensSeen: run.tokensSeen + lead.tokens,
      stepJobId: done || run.status !== 'running' ? undefined : stepJobId(run.id, step, run.progress.attempt),
      ...(lead.checkpoint ? { lastCheckpoint: lead.checkpoint.name } : {}),
    };
    await this.repo.update(run.id, {
      progress: { step },
      retries: 0,
      resumeFrom: undefined,
      stepStartedAt: now,
      tokensSeen: next.tokensSeen,
      stepJobId: next.stepJobId,
      ...(lead.checkpoint ? { lastCheckpoint: lead.checkpoint.name } : {}),
    });
    if (next.stepJobId !== undefined) await this.scheduler.enqueue(next, this.plan(next));

    const metric = stepMetrics(
      ranked,
      run.stepStartedAt !== undefined ? finishedAt - run.stepStartedAt : lead.jobMs,
    );
    await this.repo.appendStep(
      run.id,
      metric,
      lead.eval ? { step, ...lead.eval } : undefined,
      lead.sample !== undefined ? { step, text: lead.sample } : undefined,
    );
    await this.registry.setHeldMany(
      ranked.map((r) => ({ id: r.workerId, held: { runId: run.id, appliedSteps: r.appliedSteps } })),
    );
    this.events.emit({ type: 'step', data: { runId: run.id, metric } });
    if (done) {
      await this.transition(run.id, 'complete');
      await this.pool.release({ kind: 'run', id: run.id }, run.members);
      this.log.info({ runId: run.id, steps: step, loss: lead.loss }, 'run completed');
    }
    await this.publish(run.id);
  }

  /** Handles a failed attempt: fail the run, or form a new ring and re-run the step. */
  private async retry(run: Run, results: RankResult[], missing?: string): Promise<void> {
    const failures = results.filter((r): r is Extract<RankResult, { ok: false }> => !r.ok);
    await this.registry.setHeldMany(
      failures.map((f) => ({
        id: f.workerId,
        held: f.appliedSteps === null ? undefined : { runId: run.id, appliedSteps: f.appliedSteps },
      })),
    );
    const describe = (f: (typeof failures)[number]) =>
      `rank ${f.rank} (worker ${f.workerId}): ${f.error}${f.file && !f.error.includes(f.file) ? ` [${f.file}]` : ''}`;
    const fatal = failures.find((f) => f.kind === 'fatal');
    if (fatal) {
      await this.fail(run, `step ${run.progress.step} failed: ${describe(fatal)}`);
      return;
    }
    const badCheckpoints = [...run.badCheckpoints];
    for (const f of failures.filter((x) => x.kind === 'checkpoint')) {
      const bad = run.resumeFrom ?? f.file;
      if (bad !== undefined && !badCheckpoints.includes(bad)) badCheckpoints.push(bad);
      this.log.error(
        { runId: run.id, checkpoint: bad, err: f.error },
        'checkpoint unusable; falling back to an older one',
      );
    }
    const retries = run.retries + 1;
    const reason = failures.length > 0 ? failures.map(describe).join('; ') : (missing ?? 'unknown');
    if (retries > this.config.maxStepRetries) {
      await this.fail(run, `step ${run.progress.step} failed ${retries} times; last: ${reason}`);
      return;
    }
    this.log.warn(
      { runId: run.id, step: run.progress.step, attempt: run.progress.attempt, retries, reason },
      'step failed; re-running',
    );
    await this.repo.update(run.id, { retries, badCheckpoints, stepJobId: undefined, resumeFrom: undefined });
    const current = await this.require(run.id);
    if (current.status === 'running') await this.form(current);
    else await this.publish(run.id);
  }

  /** Abandons the pending attempt (its late results will be ignored). */
  private async abort(run: Run, reason: string): Promise<void> {
    this.log.warn(
      { runId: run.id, step: run.progress.step, attempt: run.progress.attempt, reason },
      'step aborted',
    );
    if (run.stepJobId !== undefined) await this.scheduler.remove(run.id, run.stepJobId);
    await this.repo.update(run.id, { stepJobId: undefined, retries: run.retries + 1 });
    if (run.retries + 1 > this.config.maxStepRetries) {
      await this.fail(run, `step ${run.progress.step} failed ${run.retries + 1} times; last: ${reason}`);
    }
  }

  private async fail(run: Run, error: string): Promise<void> {
    await this.repo.update(run.id, { error, stepJobId: undefined });
    await this.transition(run.id, 'fail');
    await this.pool.release({ kind: 'run', id: run.id }, run.members);
    this.log.error({ runId: run.id, err: error }, 'run failed');
    await this.publish(run.id);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** What the ranks of the run's current step must do besides training. */
  private plan(run: Run): { saveCheckpoint: boolean; evaluate: boolean } {
    const done = run.progress.step + 1; // steps applied after this one
    const last = done >= run.progress.totalSteps;
    const every = (n: number) => n > 0 && done % n === 0;
    return {
      saveCheckpoint: last || every(run.spec.checkpointEvery),
      evaluate: last || every(run.spec.evalEvery),
    };
  }

  private async transition(id: string, action: RunAction): Promise<void> {
    const { from, to } = TRANSITIONS[action];
    await this.repo.transition(id, from, to);
  }

  private async require(id: string): Promise<Run> {
    const run = await this.repo.get(id);
    if (!run) throw new Error(`run ${id} disappeared from Redis`);
    return run;
  }

  private async publish(id: string): Promise<void> {
    const run = await this.repo.get(id);
    if (!run) return;
    if (isTerminal(run.status)) this.known.delete(id);
    else this.known.set(id, run);
    this.events.emit({ type: 'run', data: run });
  }

  /**
   * Redis without persistence forgets everything when it restarts. Active runs this process knows
   * are written back (queued, to be re-formed from the replicas the workers still hold or from the
   * newest checkpoint); their step history before the loss is gone.
   */
  private async restoreLostRuns(): Promise<void> {
    for (const [id, run] of this.known) {
      if (await this.repo.get(id)) continue;
      const restored: Run = {
        ...run,
        status: 'queued',
        stepJobId: undefined,
        resumeFrom: undefined,
        error: undefined,
        updatedAt: new Date().toISOString(),
      };
      await this.repo.create(restored);
      this.log.warn(
        { runId: id, step: run.progress.step },
        'Redis lost this run (restart without persistence); restored it from memory',
      );
    }
  }
}

/** A step's metrics from its ranks' results (rank order). */
function stepMetrics(ranked: RankSuccess[], stepMs: number): StepMetrics {
  const lead = ranked[0];
  return {
    step: lead.step,
    loss: lead.loss,
    lr: lead.lr,
    gradNorm: lead.gradNorm,
    tokensPerSecond: lead.tokens / (Math.max(stepMs, 1) / 1000),
    computeMs: Math.max(...ranked.map((r) => r.computeMs)),
    commMs: Math.max(...ranked.map((r) => r.commMs)),
    bytesSent: ranked.reduce((sum, r) => sum + r.bytesSent, 0),
    stepMs,
    workers: ranked.map((r) => ({
      workerId: r.workerId,
      rank: r.rank,
      loss: r.localLoss,
      computeMs: r.computeMs,
      commMs: r.commMs,
      jobMs: r.jobMs,
      bytesSent: r.bytesSent,
    })),
  };
}
