/**
 * The run state machine: queued → running → paused / completed / failed / cancelled.
 *
 *   queued  ──start──▶ running ──complete──▶ completed
 *     │  ╲               │ ╲──fail──▶ failed
 *   pause  cancel      pause, cancel
 *     ▼      ▼           ▼
 *   paused ──resume──▶ queued        (cancel from paused too)
 */

/** Every status a run can have. */
export const RUN_STATUSES = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
/** A run's status. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Actions that move a run between states. */
export type RunAction = 'start' | 'pause' | 'resume' | 'cancel' | 'complete' | 'fail';

/** For each action: the states it is allowed from, and the state it leads to. */
export const TRANSITIONS: Readonly<Record<RunAction, { from: readonly RunStatus[]; to: RunStatus }>> = {
  start: { from: ['queued'], to: 'running' },
  pause: { from: ['queued', 'running'], to: 'paused' },
  resume: { from: ['paused'], to: 'queued' },
  cancel: { from: ['queued', 'running', 'paused'], to: 'cancelled' },
  complete: { from: ['running'], to: 'completed' },
  fail: { from: ['queued', 'running', 'paused'], to: 'failed' },
};

/** Whether `status` is final (no action leaves it). */
export function isTerminal(status: RunStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** Narrows a string read back from Redis to a {@link RunStatus}. */
export function isRunStatus(value: string): value is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(value);
}
