/** Figures from a confusion matrix (`matrix[actual][predicted]` counts): accuracy, recall, precision, shading. */

/** Per-label recall and precision. */
export interface LabelStats {
  label: string;
  support: number;
  recall: number | undefined;
  precision: number | undefined;
}

/** Checks the matrix is square, matches the labels, and holds non-negative counts. */
export function validateConfusion(matrix: readonly (readonly number[])[], labels: readonly string[]): void {
  if (matrix.length !== labels.length)
    throw new Error(`confusion matrix has ${matrix.length} rows for ${labels.length} labels`);
  matrix.forEach((row, i) => {
    if (row.length !== labels.length)
      throw new Error(
        `confusion matrix row ${i} (${labels[i]}) has ${row.length} cells, expected ${labels.length}`,
      );
    if (row.some((c) => !Number.isFinite(c) || c < 0))
      throw new Error(`confusion matrix row ${i} (${labels[i]}) has a negative or non-numeric count`);
  });
}

/** Correct predictions over all predictions (undefined for an empty matrix). */
export function accuracyOf(matrix: readonly (readonly number[])[]): number | undefined {
  let correct = 0;
  let total = 0;
  matrix.forEach((row, i) =>
    row.forEach((c, j) => {
      total += c;
      if (i === j) correct += c;
    }),
  );
  return total === 0 ? undefined : correct / total;
}

/** Recall (row-wise) and precision (column-wise) of each label. */
export function labelStats(matrix: readonly (readonly number[])[], labels: readonly string[]): LabelStats[] {
  validateConfusion(matrix, labels);
  return labels.map((label, i) => {
    const support = matrix[i].reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[i], 0);
    return {
      label,
      support,
      recall: support === 0 ? undefined : matrix[i][i] / support,
      precision: predicted === 0 ? undefined : matrix[i][i] / predicted,
    };
  });
}

/** Shade of a cell in [0, 1]: its share of the row (so rare classes are as readable as common ones). */
export function cellShade(matrix: readonly (readonly number[])[], i: number, j: number): number {
  const total = matrix[i].reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : matrix[i][j] / total;
}
