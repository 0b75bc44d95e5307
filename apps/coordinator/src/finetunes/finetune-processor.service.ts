/**
 * Consumes the parent finetune jobs: BullMQ moves an attempt's parent job to the finetune queue once
 * every rank's job has completed; this reads the ranks' results and hands them to the
 * {@link FinetuneDriver}.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import {
  FINETUNE_QUEUE,
  finetuneParentSchema,
  finetuneResultSchema,
  parsePayload,
  type FinetuneResult,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { redisOptions } from '../redis/redis.service';
import { bullPrefix } from '../runs/step-scheduler.service';
import { FinetuneDriver } from './finetune-driver.service';

/** The coordinator's BullMQ worker on the finetune queue. */
@Injectable()
export class FinetuneProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: Worker;
  private readonly log: Logger;

  constructor(
    private readonly driver: FinetuneDriver,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    this.log = log.child({ component: 'finetune-processor' });
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker(FINETUNE_QUEUE, (job) => this.process(job), {
      connection: redisOptions(this.config.redisUrl),
      prefix: bullPrefix(this.config.redisPrefix),
      concurrency: 4,
    });
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'finetune worker error'));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.waitUntilReady().catch(() => undefined);
    await this.worker?.close();
  }

  private async process(job: Job): Promise<void> {
    const data = parsePayload(finetuneParentSchema, 'finetune job payload', job.data);
    const values = await job.getChildrenValues<unknown>();
    const results: FinetuneResult[] = [];
    for (const [key, value] of Object.entries(values)) {
      const parsed = finetuneResultSchema.safeParse(value);
      if (parsed.success) results.push(parsed.data);
      else
        this.log.error(
          { finetuneId: data.finetuneId, job: key, issues: parsed.error.issues },
          'invalid finetune rank result',
        );
    }
    await this.driver.onAttemptDone(data, results);
  }
}
