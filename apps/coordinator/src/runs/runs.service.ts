/** Pretraining runs: creation, queries and the state machine's user actions. Throws domain errors only. */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import * as path from 'path';
import type { Logger } from 'pino';
import type { RunSpec } from '@llm-forge/cluster-protocol';
import { CheckpointNotFoundError, InvalidTransitionError, RunNotFoundError } from '../common/errors';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { JobEvents } from '../events/job-events.service';
import { PINO_LOGGER } from '../logging/logger';
import { CheckpointResolver } from './checkpoint-resolver';
import { type CheckpointInfo, listCheckpoints } from './checkpoints';
import { checkRunInputs } from './input-checks';
import { pathPolicyOf } from './path-policy';
import { JobDriver } from '../jobs/job-driver.service';
import { type RunAction, TRANSITIONS } from './run-state';
import type { EvalRecord, Run, RunWithMetrics, StepMetrics } from './run.model';
import { etaSeconds } from './run-summary';
import { RunsRepository } from './runs.repository';
import { SubmissionGate } from './submission-gate';

/** Creates, queries, pauses, resumes and cancels runs; the {@link JobDriver} takes them through their steps. */
@Injectable()
export class RunsService {
  private readonly log: Logger;

  constructor(
    private readonly repo: RunsRepository,
    private readonly driver: JobDriver,
    private readonly events: JobEvents,
    private readonly checkpointRefs: CheckpointResolver,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
    private readonly gate: SubmissionGate,
  ) {
    this.log = log.child({ component: 'runs' });
    gate.addSource('run', async () => (await repo.list()).filter((r) => r.status === 'queued').length);
  }

  /**
   * Stores a new queued run; it starts as soon as `spec.workers` workers are free. The text, dataset
   * and init checkpoint are checked first (a RequestValidationError naming the field), so a
   * typo is refused now rather than failing the run at step 0. A QueueFullError (429) when the
   * cluster's queue cap is reached.
   */
  create(input: RunSpec): Promise<Run> {
    return this.gate.admit(() => this.store(input));
  }

  private async store(input: RunSpec): Promise<Run> {
    const spec = await checkRunInputs(input, this.checkpointRefs, pathPolicyOf(this.config), async () =>
      (await this.repo.list()).map((r) => r.checkpointDir),
    );
    const id = `run-${randomUUID()}`;
    const now = new Date().toISOString();
    const run: Run = {
      id,
      status: 'queued',
      spec,
      progress: { step: 0, totalSteps: spec.steps, attempt: 0 },
      checkpointDir: path.resolve(spec.out ?? path.join(this.config.runsDir, id)),
      retries: 0,
      badCheckpoints: [],
      tokensSeen: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (spec.name !== undefined) run.name = spec.name;
    await this.repo.create(run);
    this.log.info({ runId: id, workers: spec.workers, steps: spec.steps }, 'run created');
    this.events.emit({ type: 'run', data: run });
    this.driver.kick();
    return run;
  }

  /** All runs, newest first. */
  list(): Promise<Run[]> {
    return this.repo.list();
  }

  /**
   * A run's evaluations and its newest `recentSteps` step metrics, without the rest of
   * {@link get} (the runs list and the metrics export read only these).
   */
  async history(
    id: string,
    recentSteps: number,
  ): Promise<{ run: Run; evals: EvalRecord[]; metrics: StepMetrics[] }> {
    const run = await this.require(id);
    const [evals, metrics] = await Promise.all([this.repo.evals(id), this.repo.metrics(id, recentSteps)]);
    return { run, evals, metrics };
  }

  /** One run with its metrics, evaluations, samples and ETA; {@link RunNotFoundError} if absent. */
  async get(id: string): Promise<RunWithMetrics> {
    const run = await this.require(id);
    const [metrics, evals, samples] = await Promise.all([
      this.repo.metrics(id),
      this.repo.evals(id),
      this.repo.samples(id),
    ]);
    const eta = etaSeconds(run, metrics);
    return { ...run, metrics, evals, samples, ...(eta !== undefined ? { etaSeconds: eta } : {}) };
  }

  /** Pauses a queued or running run; a step in flight finishes and is kept, no further step starts. */
  async pause(id: string): Promise<Run> {
    return this.driver.withLock(id, async () => {
      await this.act(id, 'pause');
      await this.driver.release('run', id);
      return this.require(id);
    });
  }

  /**
   * Re-queues a paused run, from where it stopped or from a chosen checkpoint of the run (the steps
   * after it are re-run and their metrics replaced).
   */
  async resume(id: string, checkpoint?: string): Promise<Run> {
    return this.driver.withLock(id, async () => {
      const run = await this.require(id);
      if (checkpoint !== undefined) {
        if (run.status !== 'paused')
          throw new InvalidTransitionError(id, 'resume', run.status, TRANSITIONS.resume.from);
        const found = (await listCheckpoints(run.checkpointDir)).find((c) => c.name === checkpoint);
        if (!found || !found.complete || found.step === null) {
          throw new CheckpointNotFoundError(id, checkpoint, run.checkpointDir);
        }
        await this.repo.truncateHistory(id, found.step);
        await this.repo.update(id, {
          resumeFrom: found.path,
          progress: { ...run.progress, step: found.step },
          badCheckpoints: run.badCheckpoints.filter((b) => b !== found.path),
        });
      }
      await this.act(id, 'resume');
      this.driver.kick();
      return this.require(id);
    });
  }

  /** Cancels a run that has not finished and removes its pending step jobs. */
  async cancel(id: string): Promise<Run> {
    return this.driver.withLock(id, async () => {
      await this.act(id, 'cancel');
      await this.driver.release('run', id);
      return this.require(id);
    });
  }

  /** The run's checkpoints, by step; `latest` marks the newest complete one. */
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
}
