/** A coloured pill for a run's or finetune's status. */
import type { ReactElement } from 'react';
import type { RunStatus } from '../api/types';

/** The status as a badge (class `status-<status>` sets the colour). */
export function StatusBadge({ status }: { status: RunStatus }): ReactElement {
  return (
    <span className={`badge status-${status}`} data-testid="status">
      {status}
    </span>
  );
}
