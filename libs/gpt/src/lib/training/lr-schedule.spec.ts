import { learningRate, validateSchedule, type LrSchedule } from './lr-schedule';

describe('learning-rate schedule', () => {
  const s: LrSchedule = { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110, schedule: 'cosine' };

  it('warms up linearly to the peak', () => {
    expect(learningRate(0, s)).toBeCloseTo(1e-4, 12);
    expect(learningRate(4, s)).toBeCloseTo(5e-4, 12);
    expect(learningRate(9, s)).toBeCloseTo(1e-3, 12);
  });

  it('decays along a cosine to the floor at the last step', () => {
    expect(learningRate(10, s)).toBeCloseTo(1e-3, 12);
    expect(learningRate(10 + 99 / 2, s)).toBeCloseTo(5.5e-4, 12);
    expect(learningRate(109, s)).toBeCloseTo(1e-4, 12);
    for (let k = 11; k < 110; k++) expect(learningRate(k, s)).toBeLessThanOrEqual(learningRate(k - 1, s));
  });

  it('stays at the peak after warmup when constant', () => {
    expect(learningRate(50, { ...s, schedule: 'constant' })).toBe(1e-3);
  });

  it('rejects nonsense with the flag name', () => {
    expect(() => validateSchedule({ ...s, lr: 0 })).toThrow(/lr must be a positive number/);
    expect(() => validateSchedule({ ...s, minLr: 1 })).toThrow(/min-lr must be in/);
    expect(() => validateSchedule({ ...s, warmupSteps: -1 })).toThrow(/warmup-steps/);
  });
});
