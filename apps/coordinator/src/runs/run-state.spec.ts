import { parseRankJob, rankJobId, stepJobId } from './queues';
import { TRANSITIONS, isTerminal, RUN_STATUSES } from './run-state';

describe('step job payloads', () => {
  const job = { runId: 'run-1', step: 3, rank: 1, worldSize: 2, attempt: 0 };

  it('accepts a valid rank job and rejects bad ones naming the field', () => {
    expect(parseRankJob(job)).toEqual(job);
    expect(() => parseRankJob({ ...job, rank: 2 })).toThrow(
      'invalid rank job payload: rank: rank must be below worldSize',
    );
    expect(() => parseRankJob({ ...job, step: -1 })).toThrow(/step:/);
    expect(() => parseRankJob({ ...job, extra: true })).toThrow(/Unrecognized key/);
    expect(() => parseRankJob('{}')).toThrow(/\(payload\)/);
  });

  it('has deterministic BullMQ ids without colons', () => {
    expect(stepJobId('run-1', 3, 0)).toBe('run-1.s3.a0');
    expect(rankJobId('run-1', 3, 0, 1)).toBe('run-1.s3.a0.r1');
  });
});

describe('run state machine', () => {
  it('never leaves a terminal state', () => {
    for (const { from } of Object.values(TRANSITIONS)) {
      expect(from.some(isTerminal)).toBe(false);
    }
    expect(RUN_STATUSES.filter(isTerminal)).toEqual(['completed', 'failed', 'cancelled']);
  });
});
