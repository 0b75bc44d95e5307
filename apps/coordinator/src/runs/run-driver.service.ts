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
 * One coordinator drives a cluster; actions on one run are serialised by a per-run lock.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { stepJobId, type RankResult, type RankSuccess, type StepJobData } from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RunEvents } from '../events/run-events.service';
import { PINO_LOGGER } from '../logging/logger';
import { isAlive, memberAlive } from '../workers/liveness';
import { PeriodicDriver } from '../common/periodic-driver';
import { WorkerPoolLock } from '../workers/worker-pool-lock';
import { WorkerRegistry, type WorkerRecord } from '../workers/worker-registry';
import { listCheckpoints } from './checkpoints';
import { isTerminal, TRANSITIONS, type RunAction } from './run-state';
import type { Run, RunMember, StepMetrics } from './run.model';
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
    if (run) await this.releaseMembers(run);
    if (run) await this.publish(runId);
  }

  /** Active runs as last seen, to restore them if Redis loses its data. */
  private readonly known = new Map<string, Run>();

  constructor(
    private readonly repo: RunsRepository,
    private readonly scheduler: StepScheduler,
    private readonly registry: WorkerRegistry,
    private readonly pool: WorkerPoolLock,
    private readonly events: RunEvents,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    super(TICK_MS, log.child({ component: 'run-driver' }));
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
    const now = Date.now();
    const workers = await this.registry.list();
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
    const lost = (run.members ?? []).filter((m) => !this.memberAlive(m, workers, now));
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
  private form(run: Run): Promise<void> {
    // The registry is read under the claim: what another driver recorded a moment ago counts.
    return this.pool.claim(async () => this.formClaimed(run, await this.registry.list(), Date.now()));
  }

  private async formClaimed(run: Run, workers: WorkerRecord[], now: number): Promise<void> {
    const busy = await this.busyWorkers(run.id);
    const free = workers.filter(
      (w) =>
        isAlive(w, now, this.config.workerTimeoutMs) &&
        !busy.has(w.id) &&
        // taken by a finetune job until it releases the worker
        w.assignment?.kind !== 'finetune',
    );
    const started = run.members !== undefined || run.progress.step > 0 || run.progress.attempt > 0;
    // A new run waits for the workers it asked for; a running one continues with whoever is left.
    const needed = started ? 1 : run.spec.workers;
    if (free.length < needed) {
      if (run.status === 'running' && run.stepJobId !== undefined)
        await this.repo.update(run.id, { stepJobId: undefined });
      return;
    }
    const chosen = preferHolders(free, run).slice(0, run.spec.workers);
    const members: RunMember[] = chosen.map((w) => ({
      workerId: w.id,
      address: w.address,
      sessionId: w.sessionId,
    }));
    const attempt = started ? run.progress.attempt + 1 : 0;
    const from = await this.startingPoint(run, chosen);
    if (from.step !== run.progress.step) {
      await this.repo.truncateHistory(run.id, from.step);
      this.log.warn(
        { runId: run.id, from: run.progress.step, to: from.step, checkpoint: from.resumeFrom },
        'run rewound',
      );
    }
    const next: Run = {
      ...run,
      members,
      resumeFrom: from.resumeFrom,
      progress: { ...run.progress, step: from.step, attempt },
      stepStartedAt: now,
    };
    await this.repo.update(run.id, {
      members,
      resumeFrom: from.resumeFrom,
      progress: next.progress,
      stepStartedAt: now,
      stepJobId: undefined,
    });
    if (run.status === 'queued') await this.transition(run.id, 'start');
    await Promise.all(
      members.map((m, rank) =>
        this.registry.setAssignment(m.workerId, { runId: run.id, rank, worldSize: members.length, attempt }),
      ),
    );
    const stepJobId = await this.scheduler.enqueue(next, this.plan(next));
    await this.repo.update(run.id, { stepJobId });
    this.log.info(
      {
        runId: run.id,
        step: from.step,
        attempt,
        workers: members.map((m) => m.workerId),
        resumeFrom: from.resumeFrom,
      },
      'ring formed',
    );
    await this.publish(run.id);
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
      await this.releaseMembers(run);
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
    await this.releaseMembers(run);
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

  private memberAlive(member: RunMember, workers: WorkerRecord[], now: number): boolean {
    return memberAlive(member, workers, now, this.config.workerTimeoutMs, this.startedAt);
  }

  /** Workers in the rings of other active runs. */
  private async busyWorkers(runId: string): Promise<Set<string>> {
    const busy = new Set<string>();
    for (const other of await this.repo.list()) {
      if (other.id === runId || isTerminal(other.status) || other.status === 'paused') continue;
      for (const m of other.members ?? []) busy.add(m.workerId);
    }
    return busy;
  }

  private async releaseMembers(run: Run): Promise<void> {
    await Promise.all((run.members ?? []).map((m) => this.registry.setAssignment(m.workerId, undefined)));
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

/** Workers that hold the run's replica first (they can continue from memory), then by id. */
function preferHolders(workers: WorkerRecord[], run: Run): WorkerRecord[] {
  const holds = (w: WorkerRecord) =>
    w.held?.runId === run.id && w.held.appliedSteps === run.progress.step ? 0 : 1;
  const wasMember = (w: WorkerRecord) => (run.members?.some((m) => m.workerId === w.id) ? 0 : 1);
  return [...workers].sort(
    (a, b) => holds(a) - holds(b) || wasMember(a) - wasMember(b) || a.id.localeCompare(b.id),
  );
}
