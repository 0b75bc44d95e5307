/** The runs table: one row per run, sortable headers, a tick box per run for the compare view. */
import type { ReactElement } from 'react';
import type { Run } from '../../api/types';
import { ProgressBar } from '../../components/ProgressBar';
import { StatusBadge } from '../../components/StatusBadge';
import { formatAgo, formatCount, formatDuration, formatNumber, formatWorkers } from '../../lib/format';
import { etaSeconds, tokensSeen } from '../../lib/metrics';
import { href } from '../../lib/routes';
import type { RunSort, SortKey } from '../../lib/runs-table';

/** Props of {@link RunsTable}. */
export interface RunsTableProps {
  runs: readonly Run[];
  sort: RunSort;
  onSort: (key: SortKey) => void;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
}

/** Columns in order: header, sort key (none: not sortable). */
const COLUMNS: readonly [string, SortKey | undefined][] = [
  ['Run', 'name'],
  ['Status', 'status'],
  ['Progress', undefined],
  ['Best val loss', 'bestValLoss'],
  ['Final val loss', 'finalValLoss'],
  ['Tokens', 'tokens'],
  ['Tokens/s', 'tokensPerSecond'],
  ['Duration', 'duration'],
  ['ETA', undefined],
  ['Workers', 'workers'],
  ['Tags', 'tags'],
  ['Created', 'created'],
];

/** The table. */
export function RunsTable(props: RunsTableProps): ReactElement {
  const { runs, sort, onSort, selected, onToggle } = props;
  return (
    <table className="table" data-testid="runs-table">
      <thead>
        <tr>
          <th aria-label="select" />
          {COLUMNS.map(([label, key]) => (
            <th
              key={label}
              data-sort={key}
              aria-sort={key === sort.key ? (sort.descending ? 'descending' : 'ascending') : undefined}
            >
              {key ? (
                <button className="link sort" onClick={() => onSort(key)}>
                  {label}
                  {key === sort.key ? (sort.descending ? ' ▼' : ' ▲') : ''}
                </button>
              ) : (
                label
              )}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <RunRow key={run.id} run={run} selected={selected.has(run.id)} onToggle={() => onToggle(run.id)} />
        ))}
      </tbody>
    </table>
  );
}

function RunRow(props: { run: Run; selected: boolean; onToggle: () => void }): ReactElement {
  const { run, selected, onToggle } = props;
  return (
    <tr data-run-id={run.id} className={run.archived ? 'archived' : undefined}>
      <td>
        <input type="checkbox" aria-label={`select ${run.id}`} checked={selected} onChange={onToggle} />
      </td>
      <td>
        <a href={href({ page: 'run', id: run.id })}>{run.name ?? run.id}</a>
        {run.name && <div className="muted small">{run.id}</div>}
      </td>
      <td>
        <StatusBadge status={run.status} />
        {run.archived && <span className="muted small"> archived</span>}
      </td>
      <td>
        <ProgressBar value={run.progress.step} total={run.progress.totalSteps} />
      </td>
      <td data-col="bestValLoss">{formatNumber(run.bestValLoss ?? undefined)}</td>
      <td data-col="finalValLoss">{formatNumber(run.finalValLoss ?? undefined)}</td>
      <td>{formatCount(tokensSeen(run))}</td>
      <td>{formatCount(run.tokensPerSecond ?? undefined)}</td>
      <td>{formatDuration(run.durationSeconds ?? undefined)}</td>
      <td data-col="eta">{formatDuration(etaSeconds(run, []))}</td>
      <td>{formatWorkers(run)}</td>
      <td data-col="tags">
        {(run.tags ?? []).map((t) => (
          <span key={t} className="tag">
            {t}
          </span>
        ))}
      </td>
      <td title={run.createdAt}>{formatAgo(run.createdAt)}</td>
    </tr>
  );
}
