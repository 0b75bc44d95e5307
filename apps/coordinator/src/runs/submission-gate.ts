/**
 * The cluster's cap on jobs waiting to start (FORGE_MAX_QUEUED_JOBS): issue 14 found 50 runs
 * accepted in 0.17 s, each a record in Redis and a claim on the workers. Runs and finetune jobs
 * share the workers, so they share the cap; each kind adds the count of its queued jobs. Submissions
 * pass one at a time (in this process: one coordinator per cluster), so concurrent requests cannot
 * all see room for one more.
 */
import { Inject, Injectable } from '@nestjs/common';
import { KeyedLock } from '../common/keyed-lock';
import { QueueFullError } from '../common/errors';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';

/** How many jobs of one kind are queued (not yet started). */
export type QueuedCount = () => Promise<number>;

/** Admits a submission while fewer than `maxQueuedJobs` jobs of every kind are queued. */
@Injectable()
export class SubmissionGate {
  private readonly sources = new Map<string, QueuedCount>();
  private readonly lock = new KeyedLock();

  constructor(@Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig) {}

  /** Adds the queued jobs of `kind` (`run`, `finetune`) to what the cap counts. */
  addSource(kind: string, count: QueuedCount): void {
    this.sources.set(kind, count);
  }

  /**
   * Runs `create` (which stores a queued job) when the cap leaves room, one submission at a time;
   * throws a {@link QueueFullError} (429) otherwise, before anything is checked or stored.
   */
  admit<T>(create: () => Promise<T>): Promise<T> {
    return this.lock.run('submit', async () => {
      const counts = await Promise.all([...this.sources.values()].map((count) => count()));
      const queued = counts.reduce((a, b) => a + b, 0);
      if (queued >= this.config.maxQueuedJobs) throw new QueueFullError(queued, this.config.maxQueuedJobs);
      return create();
    });
  }
}
