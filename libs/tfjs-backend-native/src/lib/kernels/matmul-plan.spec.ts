import { planMatMul } from './matmul-plan';

describe('planMatMul', () => {
  it('folds the batch of a into M when b has none', () => {
    const plan = planMatMul([4, 13, 7], [7, 5], false, false);
    expect(plan).toMatchObject({ M: 52, N: 5, K: 7, lda: 7, ldb: 5, ldc: 5, outShape: [4, 13, 5] });
    expect(Array.from(plan.offsets)).toEqual([0, 0, 0]);
  });

  it('does not fold a transposed a', () => {
    const plan = planMatMul([4, 7, 13], [7, 5], true, false);
    expect(plan).toMatchObject({ M: 13, K: 7, lda: 13, outShape: [4, 13, 5] });
    expect(plan.offsets.length).toBe(12);
  });

  it('broadcasts batch dims numpy-style', () => {
    const plan = planMatMul([2, 1, 3, 4], [3, 4, 5], false, false);
    expect(plan.outShape).toEqual([2, 3, 3, 5]);
    // product i = (i0, i1): a's batch index i0 (a broadcast over i1), b's index i1.
    const triples = Array.from({ length: 6 }, (_, i) => Array.from(plan.offsets.subarray(3 * i, 3 * i + 3)));
    expect(triples).toEqual([
      [0, 0, 0],
      [0, 20, 15],
      [0, 40, 30],
      [12, 0, 45],
      [12, 20, 60],
      [12, 40, 75],
    ]);
  });

  it('rejects mismatched inner dimensions and incompatible batches', () => {
    expect(() => planMatMul([3, 4], [5, 6], false, false)).toThrow(/inner dimensions 4 and 5/);
    expect(() => planMatMul([2, 3, 4], [3, 4, 5], false, false)).toThrow();
  });
});
