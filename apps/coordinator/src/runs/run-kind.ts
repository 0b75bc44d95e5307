/**
 * Pretraining runs as a kind of training job for the {@link JobDriver}: their records in
 * {@link RunsRepository}, their rank jobs (the run spec and checkpoint directory), their
 * checkpoints, and what a step adds to a run — its metrics, rank 0's evaluation and sample, the
 * tokens seen and the newest checkpoint — published as `step` and `run` events.
 */
import { Injectable } from '@nestjs/common';
import type { RankSuccess } from '@llm-forge/cluster-protocol';
import { JobEvents } from '../events/job-events.service';
import { JobDriver } from '../jobs/job-driver.service';
import type { RankJobKindFields, TrainingJobKind } from '../jobs/training-job-kind';
import { listCheckpoints, type CheckpointInfo } from './checkpoints';
import type { Run, StepMetrics } from './run.model';
import { RunsRepository } from './runs.repository';

/** How the job driver reads, schedules and records runs. */
@Injectable()
export class RunKind implements TrainingJobKind<Run> {
  readonly kind = 'run';

  constructor(
    readonly repository: RunsRepository,
    private readonly events: JobEvents,
    driver: JobDriver,
  ) {
    driver.register(this);
  }

  /** A paused run keeps its members on record (to prefer them on resume) but holds none of them. */
  holdsMembers(run: Run): boolean {
    return run.status !== 'paused';
  }

  rankJob(run: Run): RankJobKindFields {
    return { kind: 'run', spec: run.spec, checkpointDir: run.checkpointDir };
  }

  checkpoints(run: Run): Promise<CheckpointInfo[]> {
    return listCheckpoints(run.checkpointDir);
  }

  truncateHistory(id: string, step: number): Promise<void> {
    return this.repository.truncateHistory(id, step);
  }

  async recordStep(run: Run, ranked: RankSuccess[], stepMs: number): Promise<void> {
    const lead = ranked[0];
    const step = lead.step + 1;
    await this.repository.update(run.id, {
      tokensSeen: run.tokensSeen + lead.tokens,
      ...(lead.checkpoint ? { lastCheckpoint: lead.checkpoint.name } : {}),
    });
    const metric = stepMetrics(ranked, stepMs);
    await this.repository.appendStep(
      run.id,
      metric,
      lead.eval ? { step, ...lead.eval } : undefined,
      lead.sample !== undefined ? { step, text: lead.sample } : undefined,
    );
    this.events.emit({ type: 'step', data: { runId: run.id, metric } });
  }

  publish(run: Run): void {
    this.events.emit({ type: 'run', data: run });
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
