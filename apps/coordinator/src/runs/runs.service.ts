/** Pretraining runs: creation, queries and the state machine's user actions. Throws domain errors only. */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import * as path from 'path';
import type { Logger } from 'pino';
import { InvalidTransitionError, RunNotFoundError } from '../common/errors';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { type CheckpointInfo, listCheckpoints } from './checkpoints';
import type { CreateRunDto } from './dto/create-run.dto';
import { type RunAction, TRANSITIONS } from './run-state';
import type { Run, RunWithMetrics } from './run.model';
import { RunsRepository } from './runs.repository';
import { StepScheduler } from './step-scheduler.service';

/** Creates, queries, pauses, resumes and cancels runs. */
@Injectable()
export class RunsService {
  private readonly log: Logger;

  constructor(
    private readonly repo: RunsRepository,
    private readonly scheduler: StepScheduler,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    this.log = log.child({ component: 'runs' });
  }

  /** Stores a new queued run and enqueues its first step. */
  async create(spec: CreateRunDto): Promise<Run> {
    const id = `run-${randomUUID()}`;
    const now = new Date().toISOString();
    const run: Run = {
      id,
      status: 'queued',
      spec,
      progress: { step: 0, totalSteps: spec.steps, attempt: 0 },
      checkpointDir: path.resolve(spec.out ?? path.join(this.config.runsDir, id)),
      createdAt: now,
      updatedAt: now,
    };
    if (spec.name !== undefined) run.name = spec.name;
    await this.repo.create(run);
    this.log.info({ runId: id, workers: spec.workers, steps: spec.steps }, 'run created');
    run.stepJobId = await this.schedule(run);
    return run;
  }

  /** All runs, newest first. */
  list(): Promise<Run[]> {
    return this.repo.list();
  }

  /** One run with its latest metrics; {@link RunNotFoundError} if absent. */
  async get(id: string): Promise<RunWithMetrics> {
    const run = await this.require(id);
    return { ...run, metrics: await this.repo.metrics(id) };
  }

  /** Pauses a queued or running run and removes its pending step jobs. */
  async pause(id: string): Promise<Run> {
    await this.act(id, 'pause');
    await this.unschedule(id);
    return this.require(id);
  }

  /** Re-queues a paused run from its current step (a new attempt). */
  async resume(id: string): Promise<Run> {
    await this.act(id, 'resume');
    const run = await this.require(id);
    run.progress.attempt += 1;
    run.stepJobId = await this.schedule(run);
    return run;
  }

  /** Cancels a run that has not finished and removes its pending step jobs. */
  async cancel(id: string): Promise<Run> {
    await this.act(id, 'cancel');
    await this.unschedule(id);
    return this.require(id);
  }

  /** The checkpoints found in the run's checkpoint directory (empty until workers write some). */
  async checkpoints(id: string): Promise<CheckpointInfo[]> {
    const run = await this.require(id);
    return listCheckpoints(run.checkpointDir);
  }

  private async require(id: string): Promise<Run> {
    const run = await this.repo.get(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  private async act(id: string, action: RunAction): Promise<void> {
    const { from, to } = TRANSITIONS[action];
    const result = await this.repo.transition(id, from, to);
    if (!result.ok) {
      if (result.current === undefined) throw new RunNotFoundError(id);
      throw new InvalidTransitionError(id, action, result.current, from);
    }
    this.log.info({ runId: id, action, from: result.previous, to }, 'run status changed');
  }

  private async schedule(run: Run): Promise<string> {
    const jobId = await this.scheduler.enqueue({
      runId: run.id,
      step: run.progress.step,
      worldSize: run.spec.workers,
      attempt: run.progress.attempt,
    });
    await this.repo.setSchedule(run.id, jobId, run.progress.attempt);
    return jobId;
  }

  private async unschedule(id: string): Promise<void> {
    const run = await this.require(id);
    if (run.stepJobId === undefined) return;
    await this.scheduler.remove(id, run.stepJobId);
    await this.repo.setSchedule(id, undefined, run.progress.attempt);
  }
}
