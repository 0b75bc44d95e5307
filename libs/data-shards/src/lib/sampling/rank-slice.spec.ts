import { DataError } from '@llm-forge/gpt';
import { rankSlice } from './rank-slice';

describe('rankSlice', () => {
  it('partitions the global batch into contiguous floor/ceil slices, larger ones first', () => {
    for (let B = 1; B <= 13; B++) {
      for (let N = 1; N <= B; N++) {
        const slices = Array.from({ length: N }, (_, r) => rankSlice(B, r, N));
        let next = 0;
        for (const [r, s] of slices.entries()) {
          expect(s.start).toBe(next);
          expect(s.count).toBe(r < B % N ? Math.ceil(B / N) : Math.floor(B / N));
          next += s.count;
        }
        expect(next).toBe(B);
      }
    }
    expect([0, 1, 2].map((r) => rankSlice(7, r, 3))).toEqual([
      { start: 0, count: 3 },
      { start: 3, count: 2 },
      { start: 5, count: 2 },
    ]);
  });

  it('rejects more ranks than windows, and bad ranks, naming the value', () => {
    expect(() => rankSlice(3, 0, 4)).toThrow(DataError);
    expect(() => rankSlice(3, 0, 4)).toThrow(
      /global batch size \(3\) must be an integer >= the number of ranks \(4\)/,
    );
    expect(() => rankSlice(8, 4, 4)).toThrow(/rank must be an integer in \[0, 4\), got 4/);
    expect(() => rankSlice(8, 0, 0)).toThrow(/worldSize must be an integer >= 1, got 0/);
  });
});
