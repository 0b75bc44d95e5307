/**
 * Enqueues the steps of every kind of training job as BullMQ flows (one child per rank, on that
 * rank's worker queue) and removes them.
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { FlowProducer, Queue } from 'bullmq';
import type { Logger } from 'pino';
import {
  RANK_JOB,
  rankJobId,
  rankQueueName,
  type RankJobData,
  STEP_JOB,
  STEP_QUEUE,
  stepJobId,
  type StepJobData,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { RedisService } from '../redis/redis.service';
import type { DrivenJob, TrainingJobKind } from './training-job-kind';

/** BullMQ key prefix for a coordinator Redis prefix: `forge:` → `forge:bull`. */
export function bullPrefix(redisPrefix: string): string {
  return `${redisPrefix}bull`;
}

/** Schedules steps: a parent job on {@link STEP_QUEUE} with one child per rank on the rank's worker queue. */
@Injectable()
export class StepScheduler implements OnModuleDestroy {
  private readonly flows: FlowProducer;
  private readonly steps: Queue<StepJobData>;
  private readonly log: Logger;
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisService,
    @Inject(FORGE_CONFIG) config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    this.prefix = bullPrefix(config.redisPrefix);
    this.flows = new FlowProducer({ connection: redis.bullmq, prefix: this.prefix });
    this.steps = new Queue<StepJobData>(STEP_QUEUE, { connection: redis.bullmq, prefix: this.prefix });
    this.log = log.child({ component: 'step-scheduler' });
    // BullMQ re-emits connection errors (e.g. "Connection is closed" during shutdown or a Redis
    // restart) as 'error' events; without a listener Node turns them into uncaught exceptions.
    const onError = (source: string) => (err: Error) =>
      this.log.warn({ err: err.message, source }, 'redis connection error');
    this.flows.on('error', onError('flow-producer'));
    this.steps.on('error', onError('step-queue'));
  }

  /**
   * Enqueues the job's current flow over its members — the steps from progress.step to the kind's
   * {@link TrainingJobKind.jobEnd} — as attempt progress.attempt; returns the parent job id.
   * Idempotent for the same (job, step, attempt).
   */
  async enqueue<J extends DrivenJob>(kind: TrainingJobKind<J>, job: J): Promise<string> {
    const members = job.members ?? [];
    if (members.length === 0) throw new Error(`${kind.kind} ${job.id} has no ring members to schedule on`);
    const { step, attempt } = job.progress;
    const endStep = kind.jobEnd?.(job, step) ?? step + 1;
    const worldSize = members.length;
    const parentId = stepJobId(job.id, step, attempt);
    const peers = members.map((m) => ({ workerId: m.workerId, address: m.address }));
    const fields = kind.rankJob(job);
    const children = members.map((member, rank) => {
      const data: RankJobData = {
        ...fields,
        jobId: job.id,
        step,
        endStep,
        attempt,
        worldSize,
        rank,
        peers,
        ...(job.resumeFrom !== undefined ? { resumeFrom: job.resumeFrom } : {}),
      };
      return {
        name: RANK_JOB,
        queueName: rankQueueName(member.workerId),
        data,
        opts: { jobId: rankJobId(job.id, step, attempt, rank), removeOnComplete: 100, removeOnFail: 100 },
      };
    });
    const data: StepJobData = { kind: kind.kind, jobId: job.id, step, endStep, attempt, worldSize };
    await this.flows.add({
      name: STEP_JOB,
      queueName: STEP_QUEUE,
      data,
      opts: { jobId: parentId, removeOnComplete: 100, removeOnFail: 100 },
      children,
    });
    this.log.debug(
      { [kind.kind]: job.id, step, endStep, attempt, worldSize, stepJobId: parentId },
      'step enqueued',
    );
    return parentId;
  }

  /**
   * Removes a step job and its rank jobs. False when it could not be removed now (a rank holds its
   * job); the coordinator ignores such a step's late result and tries again later.
   */
  async remove(jobId: string, stepJobId: string): Promise<boolean> {
    try {
      const removed = (await this.steps.remove(stepJobId, { removeChildren: true })) === 1;
      this.log.debug({ jobId, stepJobId, removed }, removed ? 'step job removed' : 'step job not found');
      return true;
    } catch (err) {
      this.log.debug(
        { jobId, stepJobId, err: (err as Error).message },
        'step job is in progress; not removed yet',
      );
      return false;
    }
  }

  /** Whether a step job exists (waiting, running, or finished and not yet removed). */
  async exists(jobId: string): Promise<boolean> {
    return (await this.steps.getJobState(jobId)) !== 'unknown';
  }

  /** Empties a worker's queue (its jobs belong to a ring generation that no longer exists). */
  async clearWorkerQueue(workerId: string): Promise<void> {
    const queue = new Queue(rankQueueName(workerId), { connection: this.redis.bullmq, prefix: this.prefix });
    queue.on('error', () => undefined);
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.waitUntilReady().catch(() => undefined);
      await queue.close();
    }
  }

  /** Waiting and active step jobs (for metrics). */
  async depth(): Promise<number> {
    const counts = await this.steps.getJobCounts('waiting', 'active', 'waiting-children');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Closes the producers (the connection belongs to {@link RedisService}). */
  async onModuleDestroy(): Promise<void> {
    // Closing while BullMQ still connects makes its connection emit an error nobody listens to.
    await Promise.allSettled([this.flows.waitUntilReady(), this.steps.waitUntilReady()]);
    await Promise.allSettled([this.flows.close(), this.steps.close()]);
  }
}
