/**
 * Which workers count as alive. A worker is alive while its last recorded heartbeat is younger than
 * the worker timeout, with no exception: a record stored by an earlier coordinator (or an earlier
 * cluster on the same Redis prefix) is judged by its `lastSeen` like any other, so a worker that
 * stopped long ago is never put in a ring, however recently this coordinator started.
 */
import type { WorkerRecord } from './worker-registry';

/** Whether `worker` is alive at `now`: heard from less than `timeoutMs` ago. */
export function isAlive(worker: WorkerRecord, now: number, timeoutMs: number): boolean {
  return now - worker.lastSeen < timeoutMs;
}

/** A ring member as the coordinator recorded it: which worker, in which registration session. */
export interface SessionMember {
  workerId: string;
  sessionId: string;
}

/**
 * Whether a ring member is still there: registered, in the same session it was in when the ring was
 * formed (a restarted worker has a new session and lost what it held), and alive.
 *
 * "Alive" is {@link isAlive}, except during the first `timeoutMs` after this coordinator started
 * (`since`): heartbeats are not recorded while no coordinator runs, so a member of a ring formed
 * before the restart keeps its place until it has had a full timeout to heartbeat again. This grace
 * only spares an existing ring from being torn down; choosing workers for a ring uses {@link isAlive}.
 */
export function memberAlive(
  member: SessionMember,
  workers: readonly WorkerRecord[],
  now: number,
  timeoutMs: number,
  since: number,
): boolean {
  const worker = workers.find((w) => w.id === member.workerId);
  if (worker === undefined || worker.sessionId !== member.sessionId) return false;
  return isAlive(worker, now, timeoutMs) || now - since < timeoutMs;
}
