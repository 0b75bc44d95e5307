/** A confusion matrix as a shaded table (rows: actual label, columns: predicted), with recall/precision. */
import type { ReactElement } from 'react';
import { cellShade, labelStats } from '../lib/confusion';
import { formatPercent } from '../lib/format';

/** Props of {@link ConfusionMatrix}. */
export interface ConfusionMatrixProps {
  matrix: readonly (readonly number[])[];
  labels: readonly string[];
}

/** The matrix; a malformed one is reported instead of drawn. */
export function ConfusionMatrix({ matrix, labels }: ConfusionMatrixProps): ReactElement {
  let stats;
  try {
    stats = labelStats(matrix, labels);
  } catch (err) {
    return <p className="error">cannot show the confusion matrix: {(err as Error).message}</p>;
  }
  return (
    <table className="confusion" data-testid="confusion-matrix">
      <thead>
        <tr>
          <th>actual \ predicted</th>
          {labels.map((l) => (
            <th key={l}>{l}</th>
          ))}
          <th>recall</th>
        </tr>
      </thead>
      <tbody>
        {matrix.map((row, i) => (
          <tr key={labels[i]}>
            <th>{labels[i]}</th>
            {row.map((count, j) => {
              const shade = cellShade(matrix, i, j);
              const hue = i === j ? '34, 197, 94' : '239, 68, 68';
              return (
                <td key={labels[j]} style={{ background: `rgba(${hue}, ${(0.1 + 0.8 * shade).toFixed(2)})` }}>
                  {count}
                </td>
              );
            })}
            <td>{formatPercent(stats[i].recall)}</td>
          </tr>
        ))}
        <tr>
          <th>precision</th>
          {stats.map((s) => (
            <td key={s.label}>{formatPercent(s.precision)}</td>
          ))}
          <td />
        </tr>
      </tbody>
    </table>
  );
}
