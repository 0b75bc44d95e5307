/** Which workers count as alive: a recent heartbeat, with a grace period after a coordinator start. */
import type { WorkerRecord } from './worker-registry';

/**
 * Whether `worker` is alive at `now`. Heartbeats are not recorded while the coordinator is down, so
 * after a (re)start every worker gets `timeoutMs` from `since` before it can be declared lost.
 */
export function isAlive(worker: WorkerRecord, now: number, timeoutMs: number, since: number): boolean {
  return now - Math.max(worker.lastSeen, since) < timeoutMs;
}
