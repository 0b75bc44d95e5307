/**
 * The skeleton of a driver that looks at its active records on a timer (and when kicked): one pass
 * at a time, actions on one record serialised by a per-record lock, the timer stopped and pending
 * actions awaited on shutdown. The run and finetune drivers fill in {@link PeriodicDriver.pass}.
 */
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { KeyedLock } from './keyed-lock';

/** A driver that passes over its records every `periodMs`. */
export abstract class PeriodicDriver implements OnApplicationBootstrap, OnApplicationShutdown {
  /** When this coordinator started: ring members get a grace period after it (see memberAlive). */
  protected readonly startedAt = Date.now();
  private readonly locks = new KeyedLock();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private stopped = false;

  constructor(
    private readonly periodMs: number,
    protected readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.periodMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.locks.drain();
  }

  /** Passes over the records now (after a create, a resume or a registration). */
  kick(): void {
    setImmediate(() => void this.tick());
  }

  /** Runs `fn` with the lock of record `id` held. */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  /** One pass, unless one is running or the app is stopping; a failed pass is logged and retried next tick. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await this.pass();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'driver pass failed; retrying');
    } finally {
      this.ticking = false;
    }
  }

  /** Looks at every active record (under {@link withLock} per record). */
  protected abstract pass(): Promise<void>;
}
