/** All runs: status, progress, tokens seen, ETA; live updates from `event: run`. */
import { useCallback, type ReactElement } from 'react';
import type { Run } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useLiveEvents } from '../hooks/useLiveState';
import { useResource } from '../hooks/useResource';
import { formatAgo, formatCount, formatDuration, formatWorkers } from '../lib/format';
import { upsertById } from '../lib/live-state';
import { etaSeconds, tokensSeen } from '../lib/metrics';
import { href } from '../lib/routes';

/** The runs table. */
export function RunsPage(): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => api.listRuns(), [api]);
  const runs = useResource<Run[]>(load);
  useLiveEvents({ run: (run) => runs.setData((list) => (list ? upsertById(list, run) : list)) });

  return (
    <section>
      <header className="page-header">
        <h1>Runs</h1>
        <a className="button" href={href({ page: 'new-run' })}>
          New run
        </a>
      </header>
      <ErrorNotice error={runs.error} />
      {runs.data === undefined ? (
        !runs.error && <p>Loading…</p>
      ) : runs.data.length === 0 ? (
        <p className="empty">No runs yet. Start one with “New run” or `forge submit pretrain`.</p>
      ) : (
        <table className="table" data-testid="runs-table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Tokens seen</th>
              <th>ETA</th>
              <th>Workers</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map((run) => (
              <RunRow key={run.id} run={run} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RunRow({ run }: { run: Run }): ReactElement {
  return (
    <tr data-run-id={run.id}>
      <td>
        <a href={href({ page: 'run', id: run.id })}>{run.name ?? run.id}</a>
        {run.name && <div className="muted small">{run.id}</div>}
      </td>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td>
        <ProgressBar value={run.progress.step} total={run.progress.totalSteps} />
      </td>
      <td>{formatCount(tokensSeen(run))}</td>
      <td>{formatDuration(etaSeconds(run, []))}</td>
      <td>{formatWorkers(run)}</td>
      <td title={run.createdAt}>{formatAgo(run.createdAt)}</td>
    </tr>
  );
}
