/** Enqueues run steps as BullMQ flows and removes them again on pause and cancel. */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { FlowProducer, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { RedisService } from '../redis/redis.service';
import {
  RANK_JOB,
  RANK_QUEUE,
  rankJobId,
  type RankJobData,
  STEP_JOB,
  STEP_QUEUE,
  stepJobId,
  type StepJobData,
} from './queues';

/** BullMQ key prefix for a coordinator Redis prefix: `forge:` → `forge:bull`. */
export function bullPrefix(redisPrefix: string): string {
  return `${redisPrefix}bull`;
}

/** What to schedule: one step of a run over `worldSize` ranks. */
export interface StepRequest {
  runId: string;
  step: number;
  worldSize: number;
  attempt: number;
}

/** Schedules steps: a parent job on {@link STEP_QUEUE} with one child per rank on {@link RANK_QUEUE}. */
@Injectable()
export class StepScheduler implements OnModuleDestroy {
  private readonly flows: FlowProducer;
  private readonly steps: Queue<StepJobData>;
  private readonly log: Logger;

  constructor(
    redis: RedisService,
    @Inject(FORGE_CONFIG) config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    const prefix = bullPrefix(config.redisPrefix);
    this.flows = new FlowProducer({ connection: redis.bullmq, prefix });
    this.steps = new Queue<StepJobData>(STEP_QUEUE, { connection: redis.bullmq, prefix });
    this.log = log.child({ component: 'step-scheduler' });
    // BullMQ re-emits connection errors (e.g. "Connection is closed" during shutdown or a Redis
    // restart) as 'error' events; without a listener Node turns them into uncaught exceptions.
    const onError = (source: string) => (err: Error) =>
      this.log.warn({ err, source }, 'redis connection error');
    this.flows.on('error', onError('flow-producer'));
    this.steps.on('error', onError('step-queue'));
  }

  /** Enqueues the step's flow; returns the parent job id. Idempotent for the same (run, step, attempt). */
  async enqueue(req: StepRequest): Promise<string> {
    const parentId = stepJobId(req.runId, req.step, req.attempt);
    const children = Array.from({ length: req.worldSize }, (_, rank) => {
      const data: RankJobData = { ...req, rank };
      return {
        name: RANK_JOB,
        queueName: RANK_QUEUE,
        data,
        opts: { jobId: rankJobId(req.runId, req.step, req.attempt, rank), removeOnComplete: 1000 },
      };
    });
    const data: StepJobData = { ...req };
    await this.flows.add({
      name: STEP_JOB,
      queueName: STEP_QUEUE,
      data,
      opts: { jobId: parentId, removeOnComplete: 1000 },
      children,
    });
    this.log.info(
      { runId: req.runId, step: req.step, attempt: req.attempt, worldSize: req.worldSize, jobId: parentId },
      'step enqueued',
    );
    return parentId;
  }

  /**
   * Removes a pending step job and its rank jobs. Returns false when it could not be removed (a worker
   * holds one of its jobs); that worker sees the run's status when it reports back.
   */
  async remove(runId: string, jobId: string): Promise<boolean> {
    try {
      const removed = (await this.steps.remove(jobId, { removeChildren: true })) === 1;
      this.log.info({ runId, jobId, removed }, removed ? 'step job removed' : 'step job not removed');
      return removed;
    } catch (err) {
      this.log.warn({ runId, jobId, err }, 'step job is in progress; not removed');
      return false;
    }
  }

  /** Closes the producers (the connection belongs to {@link RedisService}). */
  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([this.flows.close(), this.steps.close()]);
  }
}
