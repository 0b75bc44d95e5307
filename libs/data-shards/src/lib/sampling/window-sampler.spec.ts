import { deriveSeed, Rng, slidingWindows, windowBatches, windowCount } from '@llm-forge/gpt';
import { countWindows, WindowSampler } from './window-sampler';

describe('WindowSampler', () => {
  it('counts windows exactly as slidingWindows does', () => {
    for (const n of [5, 9, 10, 11, 100, 101]) {
      for (const [T, S] of [
        [4, 4],
        [4, 1],
        [4, 3],
        [8, 16],
      ]) {
        const expected = n > T ? windowCount(slidingWindows(new Int32Array(n), T, S)) : 0;
        expect(countWindows(n, T, S)).toBe(expected);
      }
    }
  });

  it('gives the same global batch for the same (seed, epoch, step), and another for another epoch', () => {
    const options = { contextLength: 8, stride: 4, batchSize: 5, seed: 42 };
    const a = new WindowSampler(1000, options);
    const b = new WindowSampler(1000, options);
    expect(a.stepsPerEpoch).toBe(Math.floor(a.windowCount / 5));
    expect(Array.from(a.globalBatch(3, 7))).toEqual(Array.from(b.globalBatch(3, 7)));
    b.globalBatch(0, 0); // another epoch in between changes nothing
    expect(Array.from(b.globalBatch(3, 7))).toEqual(Array.from(a.globalBatch(3, 7)));
    expect(Array.from(a.globalBatch(4, 7))).not.toEqual(Array.from(a.globalBatch(3, 7)));
    expect(Array.from(new WindowSampler(1000, { ...options, seed: 43 }).globalBatch(3, 7))).not.toEqual(
      Array.from(a.globalBatch(3, 7)),
    );
    const order = Array.from(a.epochOrder(2)).sort((x, y) => x - y);
    expect(order).toEqual(Array.from({ length: a.windowCount }, (_, i) => i));
  });

  it('orders windows by the documented rule: in text order, or the seeded shuffle of (seed, epoch)', () => {
    const windows = slidingWindows(new Int32Array(500), 6, 5);
    const n = windowCount(windows);
    const identity = Int32Array.from({ length: n }, (_, i) => i);
    for (const shuffle of [false, true]) {
      const sampler = new WindowSampler(500, { contextLength: 6, stride: 5, batchSize: 4, shuffle, seed: 9 });
      expect(sampler.stepsPerEpoch).toBe(windowBatches(windows, 4).length);
      for (const epoch of [0, 1, 5]) {
        const want = identity.slice();
        if (shuffle) new Rng(deriveSeed(9, epoch)).shuffle(want);
        expect(Array.from(sampler.epochOrder(epoch))).toEqual(Array.from(want));
      }
    }
  });

  it('rejects too little data and bad options, naming the flag', () => {
    expect(() => new WindowSampler(20, { contextLength: 8, batchSize: 4 })).toThrow(
      /20 train tokens give 2 windows of 8 tokens, fewer than one batch of 4/,
    );
    expect(() => new WindowSampler(100, { contextLength: 0, batchSize: 4 })).toThrow(
      /contextLength must be a positive integer, got 0 \(check --context-length\)/,
    );
    expect(() => new WindowSampler(100, { contextLength: 4, batchSize: 2 }).globalBatch(0, 99)).toThrow(
      /step must be an integer in \[0, 12\), got 99/,
    );
  });
});
