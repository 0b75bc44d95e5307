/**
 * Finetunes as a kind of training job for the {@link JobDriver}: their records in
 * {@link FinetunesRepository}, their rank jobs (the finetune spec and output directory), their
 * resumable states (`<outDir>/state/step-NNNNNN`), and what a step adds to a finetune — rank 0's
 * epoch, parameter counts and logged point, and after the last step the model and the final
 * evaluation — published as `finetune` events.
 */
import * as path from 'path';
import { Injectable } from '@nestjs/common';
import {
  FINETUNE_STATE_DIR,
  FINETUNE_STATE_MARKERS,
  listCheckpoints,
  type CheckpointInfo,
  type RankStepReport,
  type RankSuccess,
} from '@llm-forge/cluster-protocol';
import { JobEvents, type FinetuneEvent } from '../events/job-events.service';
import { JobDriver } from '../jobs/job-driver.service';
import type { RankJobKindFields, TrainingJobKind } from '../jobs/training-job-kind';
import type { Finetune } from './finetune.model';
import { FinetunesRepository } from './finetunes.repository';

/** How the job driver reads, schedules and records finetunes. */
@Injectable()
export class FinetuneKind implements TrainingJobKind<Finetune> {
  readonly kind = 'finetune';

  constructor(
    readonly repository: FinetunesRepository,
    private readonly events: JobEvents,
    driver: JobDriver,
  ) {
    driver.register(this);
  }

  /** A finetune is never paused: every unfinished one holds its members. */
  holdsMembers(): boolean {
    return true;
  }

  rankJob(job: Finetune): RankJobKindFields {
    return { kind: 'finetune', spec: job.spec, outDir: job.outDir };
  }

  checkpoints(job: Finetune): Promise<CheckpointInfo[]> {
    return listCheckpoints(path.join(job.outDir, FINETUNE_STATE_DIR), FINETUNE_STATE_MARKERS);
  }

  async truncateHistory(id: string, step: number): Promise<void> {
    const history = await this.repository.history(id);
    await this.repository.setHistory(
      id,
      history.filter((p) => p.step <= step),
    );
  }

  /** The last step's final evaluation and model may take long: it runs without the step timeout. */
  untimed(job: Finetune, step: number): boolean {
    return job.progress.totalSteps > 0 && step === job.progress.totalSteps - 1;
  }

  /** Records rank 0's report of the flow's step (a finetune's flow covers one step). */
  async recordSteps(job: Finetune, ranked: RankSuccess[]): Promise<void> {
    for (const step of ranked[0].steps) await this.recordStep(job, step.finetune);
  }

  private async recordStep(job: Finetune, report: RankStepReport['finetune']): Promise<void> {
    if (!report) return;
    if (report.logged) await this.repository.appendHistory(job.id, report.logged);
    if (report.evaluation) await this.repository.setEvaluation(job.id, report.evaluation);
    await this.repository.update(job.id, {
      progress: { ...job.progress, epoch: report.epoch },
      trainableParameters: report.trainableParameters,
      totalParameters: report.totalParameters,
      ...(report.modelDir !== undefined ? { modelDir: report.modelDir } : {}),
    });
  }

  /** Every event carries the logged history (bounded) and, once there is one, the final evaluation. */
  async publish(job: Finetune): Promise<void> {
    const [metrics, evaluation] = await Promise.all([
      this.repository.history(job.id),
      this.repository.evaluation(job.id),
    ]);
    const data: FinetuneEvent = { ...job, metrics, ...(evaluation ? { evaluation } : {}) };
    this.events.emit({ type: 'finetune', data });
  }
}
