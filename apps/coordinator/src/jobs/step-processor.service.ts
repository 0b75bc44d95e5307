/**
 * Consumes the parent step jobs of every kind of training job: BullMQ moves a step's parent job to
 * the step queue once every rank's job has completed; this reads the ranks' results and hands them
 * to the {@link JobDriver}.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import {
  parsePayload,
  rankResultSchema,
  STEP_QUEUE,
  stepJobSchema,
  type RankResult,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { redisOptions } from '../redis/redis.service';
import { JobDriver } from './job-driver.service';
import { bullPrefix } from './step-scheduler.service';

/** The coordinator's BullMQ worker on the step queue. */
@Injectable()
export class StepProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: Worker;
  private readonly log: Logger;

  constructor(
    private readonly driver: JobDriver,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    this.log = log.child({ component: 'step-processor' });
  }

  onApplicationBootstrap(): void {
    // BullMQ owns (opens and closes) the worker's connections, so none outlives the worker.
    this.worker = new Worker(STEP_QUEUE, (job) => this.process(job), {
      connection: redisOptions(this.config.redisUrl),
      prefix: bullPrefix(this.config.redisPrefix),
      concurrency: 8,
    });
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'step worker error'));
  }

  async onApplicationShutdown(): Promise<void> {
    // Closing while BullMQ still connects makes its connection emit an error nobody listens to.
    await this.worker?.waitUntilReady().catch(() => undefined);
    await this.worker?.close();
  }

  private async process(job: Job): Promise<void> {
    const finishedAt = Date.now();
    const data = parsePayload(stepJobSchema, 'step job payload', job.data);
    const values = await job.getChildrenValues<unknown>();
    const results: RankResult[] = [];
    for (const [key, value] of Object.entries(values)) {
      const parsed = rankResultSchema.safeParse(value);
      if (parsed.success) results.push(parsed.data);
      else
        this.log.error({ jobId: data.jobId, job: key, issues: parsed.error.issues }, 'invalid rank result');
    }
    await this.driver.onStepDone(data, results, finishedAt);
  }
}
