import { deriveSeed, Rng } from './rng';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference algorithm from a known state', () => {
    const rng = Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect([1, 2, 3, 4, 5].map(() => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
    expect(new Rng(-1).nextUint32()).not.toEqual(new Rng(2 ** 32 - 1).nextUint32());
  });

  it('round-trips its state through JSON and continues the same stream', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 10; i++) rng.nextUint32();
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const expected = Array.from({ length: 5 }, () => rng.nextFloat());
    const restored = Rng.fromState(saved);
    expect(Array.from({ length: 5 }, () => restored.nextFloat())).toEqual(expected);
  });

  it('rejects malformed states with a message naming the field', () => {
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3] } as never)).toThrow(/state\.s/);
    expect(() => Rng.fromState({ algorithm: 'pcg', s: [1, 2, 3, 4] } as never)).toThrow(/algorithm/);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow(/all zeros/);
  });

  it('draws floats in [0, 1) and unbiased integers', () => {
    const rng = new Rng(1);
    const counts = [0, 0, 0];
    let sum = 0;
    let inRange = true;
    for (let i = 0; i < 30000; i++) {
      const f = rng.nextFloat();
      inRange &&= f >= 0 && f < 1;
      sum += f;
      counts[rng.nextInt(3)]++;
    }
    expect(inRange).toBe(true);
    expect(sum / 30000).toBeCloseTo(0.5, 1);
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    expect(() => rng.nextInt(0)).toThrow(/nextInt/);
  });

  it('shuffles into a permutation, the same one for the same seed', () => {
    const a = new Rng(5).shuffle(Array.from({ length: 100 }, (_, i) => i));
    const b = new Rng(5).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(b)).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('derives distinct seeds from (seed, epoch)', () => {
    expect(deriveSeed(1, 0)).toBe(deriveSeed(1, 0));
    expect(new Set([deriveSeed(1, 0), deriveSeed(1, 1), deriveSeed(2, 0), deriveSeed(1)]).size).toBe(4);
  });
});
