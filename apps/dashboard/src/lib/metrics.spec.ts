import type { Run, StepMetric } from '../api/types';
import {
  downsample,
  etaSeconds,
  evalSeries,
  median,
  mergeMetric,
  seriesOf,
  tokensSeen,
  workerSeries,
  workerTimings,
  type Point,
} from './metrics';

const m = (step: number, loss: number, extra: Partial<StepMetric> = {}): StepMetric => ({
  step,
  loss,
  ...extra,
});

function run(partial: Partial<Run> & { batchSize?: number; contextLength?: number }): Run {
  return {
    id: 'r',
    status: 'running',
    spec: { batchSize: partial.batchSize ?? 4, contextLength: partial.contextLength } as Run['spec'],
    progress: { step: 10, totalSteps: 110, attempt: 1 },
    checkpointDir: 'runs/r',
    createdAt: '',
    updatedAt: '',
    ...partial,
  };
}

describe('mergeMetric', () => {
  it('keeps steps sorted, replaces a re-reported step, and does not mutate', () => {
    const a = [m(1, 5), m(3, 4)];
    const b = mergeMetric(a, m(2, 4.5));
    expect(b.map((x) => x.step)).toEqual([1, 2, 3]);
    expect(mergeMetric(b, m(3, 3.9)).map((x) => x.loss)).toEqual([5, 4.5, 3.9]);
    expect(mergeMetric(b, m(9, 1)).map((x) => x.step)).toEqual([1, 2, 3, 9]);
    expect(mergeMetric([], m(0, 1))).toEqual([m(0, 1)]);
    expect(a.map((x) => x.step)).toEqual([1, 3]);
  });
});

describe('series', () => {
  it('skips missing and non-finite values', () => {
    const metrics = [m(1, 5, { lr: 1e-4 }), m(2, NaN), m(3, 4, { lr: 2e-4 })];
    expect(seriesOf(metrics, 'loss')).toEqual([
      { x: 2, y: 5 },
      { x: 4, y: 4 },
    ]);
    expect(seriesOf(metrics, 'lr').map((p) => p.x)).toEqual([2, 4]);
    expect(
      evalSeries(
        [
          { step: 50, trainLoss: 3, valLoss: 3.5 },
          { step: 100, trainLoss: 2 },
        ],
        'valLoss',
      ),
    ).toEqual([{ x: 50, y: 3.5 }]);
    expect(evalSeries(undefined, 'valLoss')).toEqual([]);
  });
});

describe('downsample', () => {
  const wave: Point[] = Array.from({ length: 10_000 }, (_, i) => ({
    x: i,
    y: Math.sin(i / 50) + (i === 7777 ? 9 : 0),
  }));

  it('keeps at most max points, in x order, with the ends and the extremes', () => {
    const d = downsample(wave, 500);
    expect(d.length).toBeLessThanOrEqual(500);
    expect(d[0]).toEqual(wave[0]);
    expect(d[d.length - 1]).toEqual(wave[wave.length - 1]);
    for (let i = 1; i < d.length; i++) expect(d[i].x).toBeGreaterThan(d[i - 1].x);
    expect(d.some((p) => p.x === 7777)).toBe(true); // the spike survives
  });

  it('returns short series whole and rejects a silly max', () => {
    expect(downsample(wave.slice(0, 10), 20)).toHaveLength(10);
    expect(() => downsample(wave, 2)).toThrow('max must be at least 4');
  });
});

describe('tokens and ETA', () => {
  it("prefers the coordinator's figures", () => {
    expect(tokensSeen(run({ tokensSeen: 1234 }))).toBe(1234);
    expect(etaSeconds(run({ etaSeconds: 42 }), [])).toBe(42);
  });

  it('estimates from the spec and recent throughput', () => {
    const r = run({ batchSize: 8, contextLength: 64 });
    expect(tokensSeen(r)).toBe(10 * 8 * 64);
    const metrics = [
      m(9, 3, { tokensPerSecond: 1000 }),
      m(10, 3, { tokensPerSecond: 1048 }),
      m(11, 3, { tokensPerSecond: 1024 }),
    ];
    // 100 steps left × 512 tokens / 1024 tokens/s (the median)
    expect(etaSeconds(r, metrics)).toBeCloseTo(50);
  });

  it('is unknown without a context length or throughput, and zero once completed', () => {
    expect(tokensSeen(run({}))).toBeUndefined();
    expect(etaSeconds(run({ contextLength: 64 }), [m(1, 1)])).toBeUndefined();
    expect(etaSeconds(run({ status: 'completed' }), [])).toBe(0);
  });

  it('is unknown, not "0s", for a run that was cancelled or failed (it will never finish)', () => {
    expect(etaSeconds(run({ status: 'cancelled', etaSeconds: 30 }), [])).toBeUndefined();
    expect(etaSeconds(run({ status: 'failed' }), [])).toBeUndefined();
  });

  it('median', () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe('workerTimings', () => {
  const step = (s: number, slow: number): StepMetric =>
    m(s, 3, {
      workers: [
        { workerId: 'w0', rank: 0, computeMs: 100, commMs: 10 + slow, loss: 3 },
        { workerId: 'w2', rank: 2, computeMs: 100 + slow, commMs: 10, loss: 3 },
        { workerId: 'w1', rank: 1, computeMs: 104, commMs: 10 + slow, loss: 3 },
      ],
    });

  it('gives medians per worker in rank order and flags the slow one', () => {
    const rows = workerTimings([step(1, 80), step(2, 90), step(3, 85)]);
    expect(rows.map((r) => r.workerId)).toEqual(['w0', 'w1', 'w2']);
    expect(rows.map((r) => r.straggler)).toEqual([false, false, true]);
    expect(rows[2]).toMatchObject({ computeMs: 185, commMs: 10, totalMs: 195 });
    // the fast ranks wait in the all-reduce: long comm, yet not stragglers
    expect(rows[0].commMs).toBe(95);
  });

  it('flags nobody when the workers are even, or there is only one', () => {
    expect(workerTimings([step(1, 5)]).some((r) => r.straggler)).toBe(false);
    const single = m(1, 3, { workers: [{ workerId: 'w0', rank: 0, computeMs: 500, commMs: 0, loss: 3 }] });
    expect(workerTimings([single])[0].straggler).toBe(false);
    expect(workerTimings([m(1, 3)])).toEqual([]);
  });

  it('only looks at the recent window', () => {
    const old = Array.from({ length: 30 }, (_, i) => step(i, 200));
    const recent = Array.from({ length: 5 }, (_, i) => step(30 + i, 0));
    expect(workerTimings([...old, ...recent], { window: 5 }).some((r) => r.straggler)).toBe(false);
  });
});

describe('workerSeries', () => {
  it("follows each worker's compute and communication time over the steps, in rank order", () => {
    const w = (workerId: string, rank: number, computeMs: number, commMs: number) => ({
      workerId,
      rank,
      computeMs,
      commMs,
    });
    const metrics = [
      m(0, 5, { workers: [w('b', 1, 100, 10), w('a', 0, 90, 20)] }),
      m(1, 4, { workers: [w('a', 0, 95, 25), w('b', 1, 180, 5)] }),
    ];
    expect(workerSeries(metrics, 'computeMs')).toEqual([
      {
        workerId: 'a',
        rank: 0,
        points: [
          { x: 1, y: 90 },
          { x: 2, y: 95 },
        ],
      },
      {
        workerId: 'b',
        rank: 1,
        points: [
          { x: 1, y: 100 },
          { x: 2, y: 180 },
        ],
      },
    ]);
    expect(workerSeries(metrics, 'commMs')[1].points.map((p) => p.y)).toEqual([10, 5]);
    expect(workerSeries([m(0, 1)], 'commMs')).toEqual([]);
  });
});
