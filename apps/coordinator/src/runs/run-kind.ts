/**
 * Pretraining runs as a kind of training job for the {@link JobDriver}: their records in
 * {@link RunsRepository}, their rank jobs (the run spec and checkpoint directory; in DiLoCo mode a
 * job runs every inner step up to the next outer step), their checkpoints, and what each step adds
 * to a run — its metrics, rank 0's evaluation and sample, the tokens seen and the newest checkpoint —
 * published as `step` and `run` events.
 */
import { Injectable } from '@nestjs/common';
import { runJobEnd, type RankStepReport, type RankSuccess } from '@llm-forge/cluster-protocol';
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

  /** One step in DDP; in DiLoCo every inner step up to the next outer step (the ranks meet there only). */
  jobEnd(run: Run, step: number): number {
    return runJobEnd(run.spec, step);
  }

  checkpoints(run: Run): Promise<CheckpointInfo[]> {
    return listCheckpoints(run.checkpointDir);
  }

  truncateHistory(id: string, step: number): Promise<void> {
    return this.repository.truncateHistory(id, step);
  }

  /**
   * Records every step of the flow: its metrics (the flow's wall time shared by its steps, see
   * {@link shareFlowTime}), rank 0's evaluation and sample, a `step` event each; then the tokens seen
   * and the newest checkpoint.
   */
  async recordSteps(run: Run, ranked: RankSuccess[], flowMs: number): Promise<void> {
    const steps = ranked[0].steps;
    const stepTimes = shareFlowTime(ranked, flowMs);
    const diloco = run.spec.sync.mode === 'diloco';
    for (let i = 0; i < steps.length; i++) {
      const lead = steps[i];
      const step = lead.step + 1;
      const metric = stepMetrics(
        ranked.map((r) => ({
          ...r.steps[i],
          workerId: r.workerId,
          rank: r.rank,
          jobMs: r.jobMs / steps.length,
        })),
        stepTimes[i],
        diloco,
      );
      await this.repository.appendStep(
        run.id,
        metric,
        lead.eval ? { step, ...lead.eval } : undefined,
        lead.sample !== undefined ? { step, text: lead.sample } : undefined,
      );
      this.events.emit({ type: 'step', data: { runId: run.id, metric } });
    }
    const checkpoint = [...steps].reverse().find((s) => s.checkpoint)?.checkpoint;
    await this.repository.update(run.id, {
      tokensSeen: run.tokensSeen + steps.reduce((n, s) => n + s.tokens, 0),
      ...(checkpoint ? { lastCheckpoint: checkpoint.name } : {}),
    });
  }

  publish(run: Run): void {
    this.events.emit({ type: 'run', data: run });
  }
}

/**
 * The flow's wall time shared by its steps: in proportion to each step's wall time on its slowest
 * rank, where every rank reports it (so an outer step, which also all-reduces the pseudo-gradient,
 * takes its longer share); evenly otherwise. The shares add up to the flow's time, so the job's
 * start and what follows the last step (evaluation, checkpoint) stay in the run's throughput.
 */
export function shareFlowTime(ranked: RankSuccess[], flowMs: number): number[] {
  const steps = ranked[0].steps.length;
  const slowest = Array.from({ length: steps }, (_, i) =>
    Math.max(...ranked.map((r) => r.steps[i]?.wallMs ?? NaN)),
  );
  const total = slowest.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return slowest.map(() => flowMs / steps); // NaN (unreported) fails the test too
  return slowest.map((ms) => (flowMs * ms) / total);
}

/** One rank's report of a step, with the rank and its job's wall time per step. */
type RankStep = RankStepReport & { workerId: string; rank: number; jobMs: number };

/**
 * A step's metrics from its ranks' reports (rank order). The loss is the global batch's: in DDP the
 * ranks' all-reduced loss (identical on every rank); in DiLoCo the mean of the ranks' own losses,
 * each weighted by its share of the global batch (equal shares: the plain mean) — between outer
 * steps every rank trains its own parameters, so no rank knows that mean, whatever loss it reports.
 */
function stepMetrics(ranked: RankStep[], stepMs: number, diloco: boolean): StepMetrics {
  const lead = ranked[0];
  return {
    step: lead.step,
    loss: diloco ? meanLocalLoss(ranked) : lead.loss,
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
      ...(r.wallMs !== undefined ? { wallMs: r.wallMs } : {}),
      jobMs: r.jobMs,
      bytesSent: r.bytesSent,
    })),
  };
}

/** The ranks' local losses averaged, weighted by their tokens where every rank counts them. */
function meanLocalLoss(ranked: RankStep[]): number {
  const weights = ranked.map((r) => r.localTokens ?? NaN);
  const weighted = weights.every((w) => w > 0);
  const total = weighted ? weights.reduce((a, b) => a + b, 0) : ranked.length;
  return ranked.reduce((sum, r, i) => sum + r.localLoss * (weighted ? weights[i] : 1), 0) / total;
}
