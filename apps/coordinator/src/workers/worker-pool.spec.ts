import { assignedTo, chooseRing, type RingRequest } from './worker-pool';
import type { WorkerRecord } from './worker-registry';

function worker(id: string, held?: WorkerRecord['held']): WorkerRecord {
  return {
    id,
    sessionId: `s-${id}`,
    address: `127.0.0.1:${id.length}`,
    pid: 1,
    hostname: 'h',
    backend: 'cpu',
    registeredAt: new Date(0).toISOString(),
    lastSeen: 0,
    ...(held ? { held } : {}),
  };
}

const request = (over: Partial<RingRequest> = {}): RingRequest => ({
  kind: 'run',
  id: 'run-1',
  size: 2,
  minimum: 2,
  attempt: 0,
  ...over,
});

const ids = (ring: WorkerRecord[] | undefined) => ring?.map((w) => w.id);

describe('chooseRing', () => {
  it('takes the first `size` workers by id when none holds the job or was its member', () => {
    const free = [worker('c'), worker('a'), worker('b')];
    expect(ids(chooseRing(free, request()))).toEqual(['a', 'b']);
    expect(free.map((w) => w.id)).toEqual(['c', 'a', 'b']); // the input is left as it was
  });

  it('puts workers holding the job state first, then former members, then the rest', () => {
    const free = [worker('a'), worker('b'), worker('c', { jobId: 'run-1', appliedSteps: 4 }), worker('d')];
    const ring = chooseRing(
      free,
      request({
        size: 3,
        holds: (w) => w.held?.jobId === 'run-1' && w.held.appliedSteps === 4,
        current: [{ workerId: 'd', address: '', sessionId: 's-d' }],
      }),
    );
    expect(ids(ring)).toEqual(['c', 'd', 'a']);
  });

  it('refuses a ring smaller than the minimum, and forms a smaller one at or above it', () => {
    const free = [worker('b'), worker('a')];
    expect(chooseRing(free, request({ size: 3, minimum: 3 }))).toBeUndefined();
    expect(ids(chooseRing(free, request({ size: 3, minimum: 1 })))).toEqual(['a', 'b']);
    expect(chooseRing([], request({ minimum: 0 }))).toBeUndefined();
  });
});

describe('assignedTo', () => {
  const assignment = { jobId: 'ft-1', rank: 0, worldSize: 1, attempt: 2 };

  it('matches the id and the kind of job', () => {
    expect(assignedTo({ ...assignment, kind: 'finetune' }, { kind: 'finetune', id: 'ft-1' })).toBe(true);
    expect(assignedTo({ ...assignment, kind: 'finetune' }, { kind: 'run', id: 'ft-1' })).toBe(false);
    expect(assignedTo({ ...assignment, kind: 'finetune' }, { kind: 'finetune', id: 'ft-2' })).toBe(false);
  });

  it('reads an assignment stored without a kind as a run', () => {
    expect(assignedTo(assignment, { kind: 'run', id: 'ft-1' })).toBe(true);
    expect(assignedTo(assignment, { kind: 'finetune', id: 'ft-1' })).toBe(false);
  });
});
