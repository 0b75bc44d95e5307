import { runSpecSchema } from './run-spec';
import { checkpointName, parseCheckpointName } from './checkpoint-names';
import { parseRankJob, rankJobId, rankQueueName, rankResultSchema, stepJobId } from './queues';

describe('rank job payloads', () => {
  const spec = runSpecSchema.parse({ data: { text: 'corpus.txt' }, steps: 3, workers: 2 });
  const job = {
    kind: 'run',
    jobId: 'run-1',
    step: 3,
    endStep: 4,
    attempt: 0,
    worldSize: 2,
    rank: 1,
    peers: [
      { workerId: 'w0', address: '127.0.0.1:5000' },
      { workerId: 'w1', address: '127.0.0.1:5001' },
    ],
    spec,
    checkpointDir: '/runs/run-1',
  };

  it('accepts a valid rank job and rejects bad ones naming the field', () => {
    expect(parseRankJob(JSON.parse(JSON.stringify(job)))).toEqual(job);
    expect(() => parseRankJob({ ...job, rank: 2 })).toThrow(
      'invalid rank job payload: rank: rank must be below worldSize',
    );
    expect(() => parseRankJob({ ...job, peers: job.peers.slice(1) })).toThrow(/peers: peers must list/);
    expect(() => parseRankJob({ ...job, step: -1 })).toThrow(/step:/);
    expect(() => parseRankJob({ ...job, endStep: 3 })).toThrow(/endStep: endStep must be above step/);
    expect(() => parseRankJob({ ...job, extra: true })).toThrow(/Unrecognized key/);
    expect(() => parseRankJob({ ...job, spec: { ...spec, steps: 0 } })).toThrow(/spec\.steps/);
    expect(() => parseRankJob('{}')).toThrow(/\(payload\)/);
  });

  it('tells successes from failures', () => {
    const failure = {
      ok: false,
      workerId: 'w1',
      rank: 1,
      step: 3,
      appliedSteps: null,
      kind: 'state',
      error: 'x',
    };
    expect(rankResultSchema.parse(failure)).toEqual(failure);
    expect(rankResultSchema.safeParse({ ...failure, kind: 'oops' }).success).toBe(false);
  });

  const report = (step: number) => ({
    step,
    loss: 2,
    localLoss: 2.5,
    tokens: 64,
    lr: 1e-3,
    gradNorm: 1,
    computeMs: 3,
    commMs: 0,
    bytesSent: 0,
    verified: false,
  });

  it('carries one report per step the job covered (a list of one in DDP)', () => {
    const success = { ok: true, workerId: 'w1', rank: 1, step: 4, appliedSteps: 6, jobMs: 9 };
    const two = { ...success, steps: [report(4), report(5)] };
    expect(rankResultSchema.parse(two)).toEqual(two);
    expect(rankResultSchema.safeParse({ ...success, steps: [] }).success).toBe(false);
    expect(rankResultSchema.safeParse({ ...two, steps: [{ ...report(4), extra: 1 }] }).success).toBe(false);
  });

  it("reads a one-step success without a list (a worker's from before) as a list of one", () => {
    const flat = { ok: true, workerId: 'w0', rank: 0, appliedSteps: 4, jobMs: 9, ...report(3) };
    expect(rankResultSchema.parse(flat)).toEqual({
      ok: true,
      workerId: 'w0',
      rank: 0,
      step: 3,
      appliedSteps: 4,
      jobMs: 9,
      steps: [report(3)],
    });
  });

  it('has deterministic BullMQ ids and queue names without colons', () => {
    expect(stepJobId('run-1', 3, 0)).toBe('run-1.s3.a0');
    expect(rankJobId('run-1', 3, 0, 1)).toBe('run-1.s3.a0.r1');
    expect(rankQueueName('host-a.7')).toBe('forge-rank-host-a.7');
    expect(() => rankQueueName('a:b')).toThrow(/invalid worker id "a:b"/);
  });
});

describe('run spec', () => {
  it('names bad fields', () => {
    const bad = runSpecSchema.safeParse({ data: {}, steps: 10, workers: 8, batchSize: 4 });
    expect(bad.success).toBe(false);
    const paths = bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('data.manifest');
  });
});

describe('checkpoint names', () => {
  it('round-trip and sort by step', () => {
    expect(checkpointName(120)).toBe('step-000120');
    expect(parseCheckpointName(checkpointName(1_234_567))).toBe(1_234_567);
    expect(parseCheckpointName('latest')).toBeUndefined();
    expect([checkpointName(100), checkpointName(20)].sort()).toEqual(['step-000020', 'step-000100']);
  });
});
