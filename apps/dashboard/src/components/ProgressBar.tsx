/** Steps done out of the total, as a bar with the numbers. */
import type { ReactElement } from 'react';

/** Props of {@link ProgressBar}. */
export interface ProgressBarProps {
  value: number;
  total: number;
}

/** A progress bar labelled `step / total`. */
export function ProgressBar({ value, total }: ProgressBarProps): ReactElement {
  const fraction = total > 0 ? Math.min(1, Math.max(0, value / total)) : 0;
  return (
    <span className="progress" title={`${value} / ${total}`}>
      <span className="progress-bar" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      <span className="progress-label">
        {value} / {total}
      </span>
    </span>
  );
}
