/**
 * Enqueues finetune attempts as BullMQ flows — a parent job on {@link FINETUNE_QUEUE} (processed by
 * the coordinator once every rank is done) with one child per rank on that rank's worker queue — and
 * reads rank 0's progress back from its job.
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { FlowProducer, Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import {
  FINETUNE_PARENT_JOB,
  FINETUNE_QUEUE,
  FINETUNE_RANK_JOB,
  finetuneJobId,
  finetuneProgressSchema,
  finetuneRankJobId,
  rankQueueName,
  type FinetuneParentData,
  type FinetuneProgress,
  type FinetuneRankJobData,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { RedisService } from '../redis/redis.service';
import { bullPrefix } from '../runs/step-scheduler.service';
import type { Finetune } from './finetune.model';

/** Schedules finetune attempts on the workers' rank queues. */
@Injectable()
export class FinetuneScheduler implements OnModuleDestroy {
  private readonly flows: FlowProducer;
  private readonly parents: Queue<FinetuneParentData>;
  /** Rank queues opened to read progress, by worker id. */
  private readonly rankQueues = new Map<string, Queue>();
  private readonly log: Logger;
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisService,
    @Inject(FORGE_CONFIG) config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    this.prefix = bullPrefix(config.redisPrefix);
    this.flows = new FlowProducer({ connection: redis.bullmq, prefix: this.prefix });
    this.parents = new Queue(FINETUNE_QUEUE, { connection: redis.bullmq, prefix: this.prefix });
    this.log = log.child({ component: 'finetune-scheduler' });
    const onError = (source: string) => (err: Error) =>
      this.log.warn({ err: err.message, source }, 'redis connection error');
    this.flows.on('error', onError('flow-producer'));
    this.parents.on('error', onError('finetune-queue'));
  }

  /** Enqueues the job's current attempt over its members; returns the parent job id. Idempotent. */
  async enqueue(job: Finetune): Promise<string> {
    const members = job.members ?? [];
    if (members.length === 0) throw new Error(`finetune ${job.id} has no ring members to schedule on`);
    const { attempt } = job.progress;
    const worldSize = members.length;
    const peers = members.map((m) => ({ workerId: m.workerId, address: m.address }));
    const parentId = finetuneJobId(job.id, attempt);
    const children = members.map((member, rank) => {
      const data: FinetuneRankJobData = {
        finetuneId: job.id,
        attempt,
        worldSize,
        rank,
        peers,
        spec: job.spec,
        outDir: job.outDir,
      };
      return {
        name: FINETUNE_RANK_JOB,
        queueName: rankQueueName(member.workerId),
        data,
        opts: { jobId: finetuneRankJobId(job.id, attempt, rank), removeOnComplete: 100, removeOnFail: 100 },
      };
    });
    const data: FinetuneParentData = { finetuneId: job.id, attempt, worldSize };
    await this.flows.add({
      name: FINETUNE_PARENT_JOB,
      queueName: FINETUNE_QUEUE,
      data,
      opts: { jobId: parentId, removeOnComplete: 100, removeOnFail: 100 },
      children,
    });
    this.log.debug({ finetuneId: job.id, attempt, worldSize, jobId: parentId }, 'finetune enqueued');
    return parentId;
  }

  /** Whether the attempt's parent job exists (waiting, running, or finished and not yet removed). */
  async exists(jobId: string): Promise<boolean> {
    return (await this.parents.getJobState(jobId)) !== 'unknown';
  }

  /**
   * Removes an attempt's jobs that no worker has started; false when a rank holds its job (the
   * worker is told to stop it by its next heartbeat, and its late result is ignored).
   */
  async remove(jobId: string): Promise<boolean> {
    try {
      return (await this.parents.remove(jobId, { removeChildren: true })) === 1;
    } catch {
      return false;
    }
  }

  /** Rank 0's last reported progress of the job's current attempt, if any. */
  async progress(job: Finetune): Promise<FinetuneProgress | undefined> {
    const lead = job.members?.[0];
    if (!lead) return undefined;
    const queue = this.rankQueue(lead.workerId);
    const rankJob = await Job.fromId(queue, finetuneRankJobId(job.id, job.progress.attempt, 0));
    const parsed = finetuneProgressSchema.safeParse(rankJob?.progress);
    return parsed.success ? parsed.data : undefined;
  }

  private rankQueue(workerId: string): Queue {
    let queue = this.rankQueues.get(workerId);
    if (!queue) {
      queue = new Queue(rankQueueName(workerId), { connection: this.redis.bullmq, prefix: this.prefix });
      queue.on('error', (err: Error) =>
        this.log.warn({ err: err.message, workerId }, 'redis connection error'),
      );
      this.rankQueues.set(workerId, queue);
    }
    return queue;
  }

  /** Closes the producers (the connection belongs to {@link RedisService}). */
  async onModuleDestroy(): Promise<void> {
    const all = [this.flows, this.parents, ...this.rankQueues.values()];
    await Promise.allSettled(all.map((q) => q.waitUntilReady()));
    await Promise.allSettled(all.map((q) => q.close()));
  }
}
