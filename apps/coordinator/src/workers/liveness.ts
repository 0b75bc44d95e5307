/** Which workers count as alive: a recent heartbeat, with a grace period after a coordinator start. */
import type { WorkerRecord } from './worker-registry';

/**
 * Whether `worker` is alive at `now`. Heartbeats are not recorded while the coordinator is down, so
 * after a (re)start every worker gets `timeoutMs` from `since` before it can be declared lost.
 */
export function isAlive(worker: WorkerRecord, now: number, timeoutMs: number, since: number): boolean {
  return now - Math.max(worker.lastSeen, since) < timeoutMs;
}

/** A ring member as the coordinator recorded it: which worker, in which registration session. */
export interface SessionMember {
  workerId: string;
  sessionId: string;
}

/**
 * Whether a ring member is still there: registered, alive, and in the same session it was in when
 * the ring was formed (a restarted worker has a new session and lost what it held).
 */
export function memberAlive(
  member: SessionMember,
  workers: readonly WorkerRecord[],
  now: number,
  timeoutMs: number,
  since: number,
): boolean {
  const worker = workers.find((w) => w.id === member.workerId);
  return (
    worker !== undefined && worker.sessionId === member.sessionId && isAlive(worker, now, timeoutMs, since)
  );
}
