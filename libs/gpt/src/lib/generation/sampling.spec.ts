import { Rng } from '../util/rng';
import { sampleToken, validateSampling } from './sampling';

describe('next-token sampling', () => {
  const logits = Float32Array.from([1, 5, 3, 4.9, -2]);

  it('is greedy at temperature 0', () => {
    expect(sampleToken(logits, {}, new Rng(1))).toBe(1);
    expect(sampleToken(logits, { temperature: 0, topK: 3 }, new Rng(1))).toBe(1);
  });

  it('draws only among the top k', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sampleToken(logits, { temperature: 5, topK: 2 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it('draws only within the nucleus', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    // probabilities at T=1: ids 1 and 3 hold ~0.84 together, id 2 ~0.11
    for (let i = 0; i < 500; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.8 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it('follows the softmax at temperature 1', () => {
    const rng = new Rng(3);
    const counts = [0, 0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1 }, rng)]++;
    const z = Array.from(logits).reduce((a, x) => a + Math.exp(x), 0);
    counts.forEach((c, id) => expect(Math.abs(c / n - Math.exp(logits[id]) / z)).toBeLessThan(0.015));
  });

  it('is reproducible with a seed', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits, { temperature: 2 }, rng));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('rejects invalid options', () => {
    expect(() => validateSampling({ temperature: -1 })).toThrow(/temperature/);
    expect(() => validateSampling({ topP: 0 })).toThrow(/top-p/);
    expect(() => validateSampling({ topK: 1.5 })).toThrow(/top-k/);
  });
});
