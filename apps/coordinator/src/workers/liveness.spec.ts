import { isAlive, memberAlive } from './liveness';
import type { WorkerRecord } from './worker-registry';

const TIMEOUT = 5000;
const START = 1_000_000_000; // when the coordinator started

function worker(id: string, lastSeen: number): WorkerRecord {
  return {
    id,
    sessionId: `s-${id}`,
    address: '127.0.0.1:1',
    pid: 1,
    hostname: 'h',
    backend: 'cpu',
    registeredAt: new Date(lastSeen).toISOString(),
    lastSeen,
  };
}

describe('isAlive', () => {
  it('is true only while the last heartbeat is younger than the timeout', () => {
    const w = worker('a', START);
    expect(isAlive(w, START + TIMEOUT - 1, TIMEOUT)).toBe(true);
    expect(isAlive(w, START + TIMEOUT, TIMEOUT)).toBe(false);
  });

  it('counts a worker last seen 11 minutes before a coordinator start as lost at once', () => {
    expect(isAlive(worker('old', START - 11 * 60_000), START + 1, TIMEOUT)).toBe(false);
  });
});

describe('memberAlive', () => {
  const stale = worker('m', START - 11 * 60_000);
  const member = { workerId: 'm', sessionId: 's-m' };

  it('keeps a member of an existing ring for one timeout after a coordinator start, then drops it', () => {
    expect(memberAlive(member, [stale], START + TIMEOUT - 1, TIMEOUT, START)).toBe(true);
    expect(memberAlive(member, [stale], START + TIMEOUT, TIMEOUT, START)).toBe(false);
  });

  it('keeps a member that heartbeats, long after the start', () => {
    const now = START + 60 * 60_000;
    expect(memberAlive(member, [worker('m', now - 100)], now, TIMEOUT, START)).toBe(true);
  });

  it('drops a member that restarted (new session) or is no longer registered, even during the grace', () => {
    const restarted = { ...worker('m', START), sessionId: 's-m-2' };
    expect(memberAlive(member, [restarted], START + 1, TIMEOUT, START)).toBe(false);
    expect(memberAlive(member, [], START + 1, TIMEOUT, START)).toBe(false);
  });
});
