import { RUN_STATUSES } from '../api/types';
import { canDo, isFinished } from './run-actions';

describe('run actions', () => {
  it('follow the coordinator state machine', () => {
    const table = Object.fromEntries(
      RUN_STATUSES.map((s) => [s, (['pause', 'resume', 'cancel'] as const).filter((a) => canDo(a, s))]),
    );
    expect(table).toEqual({
      queued: ['pause', 'cancel'],
      running: ['pause', 'cancel'],
      paused: ['resume', 'cancel'],
      completed: [],
      failed: [],
      cancelled: [],
    });
  });

  it('knows the final states', () => {
    expect(RUN_STATUSES.filter(isFinished)).toEqual(['completed', 'failed', 'cancelled']);
  });
});
