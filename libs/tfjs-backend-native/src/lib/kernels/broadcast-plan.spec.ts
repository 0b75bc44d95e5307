import { planBinary } from './broadcast-plan';

describe('planBinary', () => {
  it.each([
    [[4, 5], [4, 5], { full: 'a', period: 20, repeat: 1 }], // same shape
    [[4, 5], [5], { full: 'a', period: 5, repeat: 1 }], // bias row
    [[4, 5], [4, 1], { full: 'a', period: 4, repeat: 5 }], // column
    [[], [2, 3, 4], { full: 'b', period: 1, repeat: 24 }], // scalar on the left
    [[2, 1, 4], [2, 3, 4], null], // [2, 1, 4] varies along two separate blocks
    [[1, 3, 1], [2, 3, 4], { full: 'b', period: 3, repeat: 4 }], // middle block
    [[2, 3, 4], [1, 1, 4], { full: 'a', period: 4, repeat: 1 }],
    [[4, 1], [1, 5], null], // outer product: neither operand is full
  ] as Array<[number[], number[], object | null]>)('%j op %j', (a, b, expected) => {
    const plan = planBinary(a, b);
    if (expected === null) expect(plan).toBeNull();
    else expect(plan).toMatchObject(expected);
  });
});
