import { TRANSITIONS, isTerminal, RUN_STATUSES } from './run-state';

describe('run state machine', () => {
  it('never leaves a terminal state', () => {
    for (const { from } of Object.values(TRANSITIONS)) {
      expect(from.some(isTerminal)).toBe(false);
    }
    expect(RUN_STATUSES.filter(isTerminal)).toEqual(['completed', 'failed', 'cancelled']);
  });
});
