import { accuracyOf, cellShade, labelStats, validateConfusion } from './confusion';

const matrix = [
  [90, 10],
  [5, 45],
];
const labels = ['ham', 'spam'];

describe('confusion matrix', () => {
  it('accuracy, recall and precision', () => {
    expect(accuracyOf(matrix)).toBeCloseTo(135 / 150);
    expect(accuracyOf([[0]])).toBeUndefined();
    const [ham, spam] = labelStats(matrix, labels);
    expect(ham).toEqual({ label: 'ham', support: 100, recall: 0.9, precision: 90 / 95 });
    expect(spam.recall).toBeCloseTo(0.9);
    expect(spam.precision).toBeCloseTo(45 / 55);
    expect(
      labelStats(
        [
          [0, 0],
          [0, 3],
        ],
        labels,
      )[0],
    ).toMatchObject({ recall: undefined, precision: undefined });
  });

  it('shades by share of the row', () => {
    expect(cellShade(matrix, 1, 1)).toBeCloseTo(0.9);
    expect(
      cellShade(
        [
          [0, 0],
          [1, 1],
        ],
        0,
        0,
      ),
    ).toBe(0);
  });

  it('rejects a matrix that does not fit its labels', () => {
    expect(() => validateConfusion([[1, 2]], labels)).toThrow('1 rows for 2 labels');
    expect(() => validateConfusion([[1], [2, 3]], labels)).toThrow('row 0 (ham) has 1 cells, expected 2');
    expect(() =>
      validateConfusion(
        [
          [1, -2],
          [2, 3],
        ],
        labels,
      ),
    ).toThrow('row 0 (ham) has a negative');
  });
});
