import type { RunSpec, StepMetric } from '../api/types';
import {
  compareQuery,
  comparePoints,
  differingParams,
  flattenSpec,
  parseCompareQuery,
  smooth,
  xPositions,
} from './compare';

const metrics: StepMetric[] = [
  { step: 0, loss: 8, lr: 1e-4, tokensPerSecond: 1000, stepMs: 500, gradNorm: 2 },
  { step: 1, loss: 6, lr: 2e-4, tokensPerSecond: 2000, stepMs: 500 },
  { step: 2, loss: 5, lr: 2e-4, tokensPerSecond: 1000, stepMs: 1000, gradNorm: 1 },
];

describe('compare view', () => {
  it('round-trips its state through the URL query, and falls back on nonsense', () => {
    const state = { runs: ['run-1', 'run-2'], x: 'tokens' as const, smoothing: 0.6 };
    expect(parseCompareQuery(compareQuery(state))).toEqual(state);
    expect(compareQuery({ runs: ['a'], x: 'step', smoothing: 0 })).toBe('runs=a');
    expect(parseCompareQuery('runs=a,a,,b&x=bogus&smooth=7')).toEqual({
      runs: ['a', 'b'],
      x: 'step',
      smoothing: 0,
    });
  });

  it('places steps on the step, tokens and wall-time axes', () => {
    expect([...xPositions(metrics, 'step', undefined)]).toEqual([[1, 1], [2, 2], [3, 3]]); // prettier-ignore
    expect([...xPositions(metrics, 'tokens', undefined).values()]).toEqual([500, 1500, 2500]);
    expect([...xPositions(metrics, 'time', undefined).values()]).toEqual([0.5, 1, 2]);
    // a step without timing counts the tokens of a step of the spec
    expect([...xPositions([{ step: 0, loss: 1 }], 'tokens', 512).values()]).toEqual([512]);
  });

  it('draws a metric, validation loss included, on the chosen axis', () => {
    const time = xPositions(metrics, 'time', undefined);
    expect(comparePoints(metrics, [], 'gradNorm', time)).toEqual([{ x: 0.5, y: 2 }, { x: 2, y: 1 }]); // prettier-ignore
    expect(comparePoints(metrics, [{ step: 2, valLoss: 6.5 }], 'valLoss', time)).toEqual([{ x: 1, y: 6.5 }]);
  });

  it('smooths with a debiased moving average, and leaves the curve alone at 0', () => {
    const points = [{ x: 1, y: 10 }, { x: 2, y: 0 }, { x: 3, y: 10 }]; // prettier-ignore
    expect(smooth(points, 0)).toEqual(points);
    const s = smooth(points, 0.5);
    expect(s[0].y).toBeCloseTo(10); // debiased: the first point is itself
    expect(s[1].y).toBeCloseTo((0.25 * 10 + 0.5 * 0) / 0.75);
    expect(s.map((p) => p.x)).toEqual([1, 2, 3]);
  });

  it('lists the hyperparameters that differ, side by side', () => {
    const a = { steps: 200, optimizer: { lr: 0.001, schedule: 'cosine' }, model: { preset: 'tiny' } };
    const b = {
      steps: 200,
      optimizer: { lr: 0.0005, schedule: 'cosine' },
      model: { preset: 'tiny' },
      name: 'b',
    };
    expect(flattenSpec(a)).toEqual({ steps: '200', 'optimizer.lr': '0.001', 'optimizer.schedule': 'cosine', 'model.preset': 'tiny' }); // prettier-ignore
    expect(differingParams([a, b] as unknown as RunSpec[])).toEqual([
      { key: 'name', values: ['—', 'b'] },
      { key: 'optimizer.lr', values: ['0.001', '0.0005'] },
    ]);
    expect(flattenSpec({ minLr: 0.003 / 10 })).toEqual({ minLr: '0.0003' });
  });
});
