/**
 * Which buttons a run offers, from the coordinator's state machine (apps/coordinator run-state.ts):
 * pause from queued/running, resume from paused, cancel from queued/running/paused.
 */
import type { RunStatus } from '../api/types';

/** An action a user can take on a run. */
export type RunAction = 'pause' | 'resume' | 'cancel';

const ALLOWED: Readonly<Record<RunAction, readonly RunStatus[]>> = {
  pause: ['queued', 'running'],
  resume: ['paused'],
  cancel: ['queued', 'running', 'paused'],
};

/** Whether `action` is allowed for a run in `status`. */
export function canDo(action: RunAction, status: RunStatus): boolean {
  return ALLOWED[action].includes(status);
}

/** Whether a run in `status` will change no more (no live updates to wait for). */
export function isFinished(status: RunStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
