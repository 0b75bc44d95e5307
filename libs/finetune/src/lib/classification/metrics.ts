/** Classification metrics: accuracy, per-class precision/recall/F1 and the confusion matrix. */

/** Precision, recall and F1 of one class (0 where undefined: no prediction or no example of it). */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true class this is. */
  support: number;
}

/** Metrics of one split. */
export interface ClassificationMetrics {
  accuracy: number;
  /** Mean cross-entropy of the true classes (NaN when not computed). */
  loss: number;
  examples: number;
  /** Per class, by label. */
  classes: Record<string, ClassMetrics>;
  /** Unweighted mean F1 over the classes. */
  macroF1: number;
  /** confusion[actual][predicted] counts, rows and columns in label order. */
  confusion: number[][];
}

/** Computes the metrics of predicted vs actual class indices. */
export function classificationMetrics(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  labels: readonly string[],
  loss = NaN,
): ClassificationMetrics {
  const n = labels.length;
  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < actual.length; i++) confusion[actual[i]][predicted[i]]++;
  const correct = labels.reduce((s, _, k) => s + confusion[k][k], 0);
  const classes: Record<string, ClassMetrics> = {};
  labels.forEach((label, k) => {
    const support = confusion[k].reduce((a, b) => a + b, 0);
    const predictedK = confusion.reduce((s, row) => s + row[k], 0);
    const precision = predictedK ? confusion[k][k] / predictedK : 0;
    const recall = support ? confusion[k][k] / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    classes[label] = { precision, recall, f1, support };
  });
  return {
    accuracy: actual.length ? correct / actual.length : NaN,
    loss,
    examples: actual.length,
    classes,
    macroF1: labels.reduce((s, l) => s + classes[l].f1, 0) / n,
    confusion,
  };
}
