/**
 * Removes the records of lost workers once they have been silent for the retention period
 * (FORGE_WORKER_RETENTION_MS). A lost worker stays visible (`GET /workers`, `forge_workers{state="lost"}`)
 * long enough for an operator to see what went; after that its record would only grow the registry and
 * the gauge forever, since a worker id that never comes back never re-registers.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { WorkerRegistry } from './worker-registry';

/**
 * The longest wait between two sweeps: a lost worker is removed at most this long after its retention
 * ends (a shorter retention is swept as often as it is long).
 */
export const MAX_SWEEP_INTERVAL_MS = 60_000;

/** Sweeps the worker registry on a timer. */
@Injectable()
export class WorkerRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly registry: WorkerRegistry,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
  ) {
    this.log = log.child({ component: 'worker-retention' });
  }

  /** How often the registry is swept. */
  get intervalMs(): number {
    return Math.min(this.config.workerRetentionMs, MAX_SWEEP_INTERVAL_MS);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweepLogged(), this.intervalMs);
    // Never keeps the process (or a test) alive on its own.
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Removes every worker silent for longer than the retention period at `now`; returns their ids. */
  async sweep(now = Date.now()): Promise<string[]> {
    const removed = await this.registry.removeSilent(now - this.config.workerRetentionMs);
    if (removed.length > 0) {
      this.log.info(
        { workers: removed, retentionMs: this.config.workerRetentionMs },
        'removed workers lost for longer than FORGE_WORKER_RETENTION_MS',
      );
    }
    return removed;
  }

  /** A timer's sweep: a failure (Redis away) is logged and the next tick tries again. */
  private async sweepLogged(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'worker retention sweep failed; retrying');
    }
  }
}
