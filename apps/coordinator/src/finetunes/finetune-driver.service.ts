/**
 * Drives finetune jobs. It forms a ring of live, free workers for a job (a new attempt each time),
 * enqueues the attempt — one long rank job per member — and follows rank 0's progress. When a member
 * is lost or a rank fails, it forms a new ring from the workers still alive; the new attempt
 * continues from the state rank 0 saved last (the batch of a step depends on the step alone, so the
 * loss curve continues as if nothing happened). Ranks still running a superseded attempt are told to
 * stop by their next heartbeat (the registry's assignment names the current attempt).
 *
 * Workers come from the {@link WorkerPool} shared with pretraining runs: this driver tells it which
 * finetunes hold their members (every one not finished) and asks it for rings. Every change of a job
 * is published as a `finetune` event (JobEvents, `GET /events`).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  finetuneJobId,
  type FinetuneParentData,
  type FinetuneResult,
  type FinetuneSuccess,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { JobEvents, type FinetuneEvent } from '../events/job-events.service';
import { PINO_LOGGER } from '../logging/logger';
import { isTerminal, TRANSITIONS, type RunAction } from '../runs/run-state';
import { PeriodicDriver } from '../common/periodic-driver';
import { WorkerPool, type Ring } from '../workers/worker-pool';
import type { Finetune } from './finetune.model';
import { FinetuneScheduler } from './finetune-scheduler.service';
import { FinetunesRepository } from './finetunes.repository';

/** How often the driver looks at every active job (and reads rank 0's progress). */
const TICK_MS = 500;

/** Drives every active finetune job. */
@Injectable()
export class FinetuneDriver extends PeriodicDriver {
  /** Active jobs as last seen, to restore them if Redis loses its data. */
  private readonly known = new Map<string, Finetune>();

  constructor(
    private readonly repo: FinetunesRepository,
    private readonly scheduler: FinetuneScheduler,
    private readonly pool: WorkerPool,
    private readonly events: JobEvents,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    super(TICK_MS, log.child({ component: 'finetune-driver' }));
    pool.addSource({
      kind: 'finetune',
      holding: async () => (await repo.list()).filter((j) => !isTerminal(j.status)),
    });
  }

  /** One pass over the active jobs. */
  protected async pass(): Promise<void> {
    await this.restoreLostJobs();
    for (const job of (await this.repo.list()).filter((j) => !isTerminal(j.status))) {
      await this.withLock(job.id, async () => {
        // First seen (just created, or this coordinator just started): clients learn it exists.
        if (!this.known.has(job.id)) await this.publish(job.id);
        await this.examine(job.id);
        // As it is after this pass (a ring formed, an attempt begun), for restoreLostJobs.
        const now = await this.repo.get(job.id);
        if (now && !isTerminal(now.status)) this.known.set(job.id, now);
        else this.known.delete(job.id);
      });
    }
  }

  /**
   * Redis without persistence forgets everything when it restarts. Active jobs this process knows
   * are written back as queued; their next attempt continues from the state rank 0 saved on the
   * shared volume (and its progress brings the logged history back). The attempt number skips past
   * any the lost record may have used, so a rank still running one is told to stop.
   */
  private async restoreLostJobs(): Promise<void> {
    for (const [id, job] of this.known) {
      if (await this.repo.get(id)) continue;
      await this.repo.create({
        ...job,
        status: 'queued',
        jobId: undefined,
        error: undefined,
        progress: { ...job.progress, attempt: job.progress.attempt + 1 },
        updatedAt: new Date().toISOString(),
      });
      this.log.warn(
        { finetuneId: id, step: job.progress.step },
        'Redis lost this finetune job (restart without persistence); restored it from memory',
      );
    }
  }

  /** Called by the processor with the ranks' results of an attempt; stale attempts are ignored. */
  async onAttemptDone(data: FinetuneParentData, results: FinetuneResult[]): Promise<void> {
    await this.withLock(data.finetuneId, async () => {
      const job = await this.repo.get(data.finetuneId);
      if (!job || isTerminal(job.status) || job.progress.attempt !== data.attempt) {
        this.log.debug(
          { finetuneId: data.finetuneId, attempt: data.attempt },
          'stale finetune result ignored',
        );
        return;
      }
      const failures = results.filter((r): r is Extract<FinetuneResult, { ok: false }> => !r.ok);
      if (failures.length === 0 && results.length === data.worldSize) {
        await this.complete(job, results as FinetuneSuccess[]);
        return;
      }
      const reason =
        failures.map((f) => `rank ${f.rank} (worker ${f.workerId}): ${f.error}`).join('; ') ||
        'missing rank results';
      if (failures.some((f) => f.kind === 'fatal')) await this.fail(job, reason);
      else await this.retry(job, reason);
    });
  }

  /** Cancels a job: its queued jobs are removed, running ranks stop at their next heartbeat. */
  async cancel(job: Finetune): Promise<void> {
    this.known.delete(job.id);
    if (job.jobId !== undefined) await this.scheduler.remove(job.jobId);
    await this.repo.update(job.id, { jobId: undefined });
    await this.pool.release({ kind: 'finetune', id: job.id }, job.members);
    await this.publish(job.id);
  }

  // ---- decisions -------------------------------------------------------------------------------

  private async examine(id: string): Promise<void> {
    const job = await this.repo.get(id);
    if (!job || isTerminal(job.status)) return;
    if (job.jobId === undefined) {
      await this.form(job);
      return;
    }
    if (!(await this.scheduler.exists(job.jobId))) {
      this.log.warn({ finetuneId: id, jobId: job.jobId }, 'finetune job missing; enqueued again');
      await this.scheduler.enqueue(job);
    }
    const lost = await this.pool.lost(job.members);
    if (lost.length > 0) {
      await this.retry(job, `worker ${lost.map((m) => m.workerId).join(', ')} stopped answering`);
      return;
    }
    await this.followProgress(job);
  }

  /** Forms a ring of live, free workers and enqueues the job's next attempt; false if too few are free. */
  private async form(job: Finetune): Promise<boolean> {
    // Begun before: it has had a ring, or it was restored after Redis lost it (attempt > 0).
    const started = job.members !== undefined || job.progress.attempt > 0;
    const attempt = started ? job.progress.attempt + 1 : 0;
    const next = await this.pool.form(
      {
        kind: 'finetune',
        id: job.id,
        size: job.spec.workers,
        // A new job waits for the workers it asked for; a started one continues with whoever is left
        // (the global batch is the same, so the result is too).
        minimum: started ? 1 : job.spec.workers,
        attempt,
        current: job.members,
        // No holders: a finetune continues from the state rank 0 saved on the shared volume.
      },
      (ring) => this.recordRing(job, ring, attempt),
    );
    if (next === undefined) return false;
    await this.scheduler.enqueue(next);
    this.log.info(
      { finetuneId: job.id, attempt: next.progress.attempt, workers: next.members?.map((m) => m.workerId) },
      started ? 'finetune ring re-formed; continuing from its saved state' : 'finetune started',
    );
    await this.publish(job.id);
    return true;
  }

  /** Stores a new ring and its attempt (under the pool lock); starts the job if it was queued. */
  private async recordRing(job: Finetune, ring: Ring, attempt: number): Promise<Finetune> {
    const next: Finetune = {
      ...job,
      members: ring.members,
      progress: { ...job.progress, attempt },
      jobId: finetuneJobId(job.id, attempt),
    };
    // Stored before it is enqueued: a coordinator that dies in between enqueues it on restart.
    await this.repo.update(job.id, { members: ring.members, progress: next.progress, jobId: next.jobId });
    if (job.status === 'queued') await this.transition(job.id, 'start');
    return next;
  }

  /** Copies rank 0's latest progress into the record. */
  private async followProgress(job: Finetune): Promise<void> {
    const progress = await this.scheduler.progress(job);
    if (!progress) return;
    const { step, totalSteps, epoch } = progress;
    if (step === job.progress.step && totalSteps === job.progress.totalSteps) return;
    await this.repo.update(job.id, { progress: { ...job.progress, step, totalSteps, epoch } });
    await this.repo.setHistory(job.id, progress.history);
    await this.publish(job.id, { metrics: progress.history });
  }

  private async complete(job: Finetune, results: FinetuneSuccess[]): Promise<void> {
    const lead = [...results].sort((a, b) => a.rank - b.rank)[0];
    if (lead.history) await this.repo.setHistory(job.id, lead.history);
    if (lead.evaluation) await this.repo.setEvaluation(job.id, lead.evaluation);
    await this.repo.update(job.id, {
      progress: {
        ...job.progress,
        step: lead.steps,
        totalSteps: Math.max(job.progress.totalSteps, lead.steps),
      },
      trainableParameters: lead.trainableParameters,
      totalParameters: lead.totalParameters,
      modelDir: lead.modelDir,
      jobId: undefined,
      retries: 0,
    });
    await this.transition(job.id, 'complete');
    this.known.delete(job.id);
    await this.pool.release({ kind: 'finetune', id: job.id }, job.members);
    await this.publish(job.id, {
      ...(lead.history ? { metrics: lead.history } : {}),
      ...(lead.evaluation ? { evaluation: lead.evaluation } : {}),
    });
    this.log.info({ finetuneId: job.id, steps: lead.steps, modelDir: lead.modelDir }, 'finetune completed');
  }

  /** A failed or abandoned attempt: fail the job after too many, else form a new ring. */
  private async retry(job: Finetune, reason: string): Promise<void> {
    const retries = job.retries + 1;
    if (job.jobId !== undefined) await this.scheduler.remove(job.jobId);
    if (retries > this.config.maxStepRetries) {
      await this.fail(job, `failed ${retries} times; last: ${reason}`);
      return;
    }
    this.log.warn(
      { finetuneId: job.id, attempt: job.progress.attempt, retries, reason },
      'finetune attempt failed; retrying',
    );
    await this.repo.update(job.id, { retries, jobId: undefined });
    const current = await this.repo.get(job.id);
    const formed = current?.status === 'running' && (await this.form(current));
    // Not re-formed (no free worker yet): the record changed all the same (retries, no attempt).
    if (!formed) await this.publish(job.id);
  }

  private async fail(job: Finetune, error: string): Promise<void> {
    await this.repo.update(job.id, { error, jobId: undefined });
    await this.transition(job.id, 'fail');
    this.known.delete(job.id);
    await this.pool.release({ kind: 'finetune', id: job.id }, job.members);
    await this.publish(job.id);
    this.log.error({ finetuneId: job.id, err: error }, 'finetune failed');
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private async transition(id: string, action: RunAction): Promise<void> {
    const { from, to } = TRANSITIONS[action];
    await this.repo.transition(id, from, to);
  }

  /** Publishes the job as stored now, with `extra` (the metrics and evaluation it does not hold). */
  private async publish(
    id: string,
    extra: Pick<FinetuneEvent, 'metrics' | 'evaluation'> = {},
  ): Promise<void> {
    const job = await this.repo.get(id);
    if (job) this.events.emit({ type: 'finetune', data: { ...job, ...extra } });
  }
}
