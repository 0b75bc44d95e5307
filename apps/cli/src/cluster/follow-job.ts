/**
 * How `--wait` follows a job: read it every half second until it ends, riding out a coordinator
 * that restarts or a Redis that reloads. A read that fails transiently (no answer, 5xx, the job
 * briefly absent) is retried; only failures lasting `FORGE_WAIT_OUTAGE_MS` (default 10 minutes) in a
 * row give up, naming how long it tried and the last error.
 */
import { ForgeError } from '@llm-forge/gpt';
import { CoordinatorRequestError } from './api-client';

/** Milliseconds between reads. */
const POLL_MS = 500;
/** Default longest outage to ride out. */
const DEFAULT_OUTAGE_MS = 10 * 60_000;

/** The longest outage `--wait` rides out (FORGE_WAIT_OUTAGE_MS). */
function outageLimitMs(): number {
  const raw = process.env.FORGE_WAIT_OUTAGE_MS;
  const value = raw === undefined ? DEFAULT_OUTAGE_MS : Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new ForgeError(`FORGE_WAIT_OUTAGE_MS must be a number of milliseconds, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** What the follower is told. */
export interface FollowHandlers<T> {
  /** Each job read; returns true when the job has ended. */
  onJob(job: T): boolean;
  /** Said once when reads start failing, and once when they work again. */
  onOutage?(message: string): void;
}

/** Reads `read()` until `onJob` says the job ended; returns the last job read. */
export async function followJob<T>(read: () => Promise<T>, handlers: FollowHandlers<T>): Promise<T> {
  const limit = outageLimitMs();
  let failingSince: number | undefined;
  for (;;) {
    let job: T | undefined;
    try {
      job = await read();
    } catch (error) {
      if (!(error instanceof CoordinatorRequestError) || !error.transient) throw error;
      const now = Date.now();
      if (failingSince === undefined) {
        failingSince = now;
        handlers.onOutage?.(`${error.message}; still waiting (up to ${Math.round(limit / 1000)} s)`);
      } else if (now - failingSince > limit) {
        throw new ForgeError(
          `gave up waiting after ${Math.round((now - failingSince) / 1000)} s without an answer: ${error.message}`,
          'the job may still run: look again with `forge runs show` or `forge finetunes show`',
        );
      }
    }
    if (job !== undefined) {
      if (failingSince !== undefined) handlers.onOutage?.('the coordinator answers again');
      failingSince = undefined;
      if (handlers.onJob(job)) return job;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
