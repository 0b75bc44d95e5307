/**
 * Registered workers: state, address, job (run or finetune) and rank, CPU and memory of the worker
 * process, heartbeat age (stale ones stand out).
 */
import { useCallback, type ReactElement } from 'react';
import type { WorkerInfo } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { useResource } from '../hooks/useResource';
import { formatAgo, formatBytes } from '../lib/format';
import { href } from '../lib/routes';

/** A heartbeat older than this is shown as stale. */
const STALE_MS = 30_000;

/** The workers table, refreshed every few seconds. */
export function WorkersPage(): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => api.listWorkers(), [api]);
  const workers = useResource<WorkerInfo[]>(load, { fastMs: 3000, slowMs: 5000 });
  return (
    <section>
      <h1>Workers</h1>
      <ErrorNotice error={workers.error} />
      {workers.data?.length === 0 && <p className="empty">No workers registered.</p>}
      {workers.data && workers.data.length > 0 && (
        <table className="table" data-testid="workers-table">
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Address</th>
              <th>Job</th>
              <th>Rank</th>
              <th title="CPU of the worker process, percent of one core">CPU</th>
              <th>Memory</th>
              <th>Last heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {workers.data.map((w) => {
              const stale = Date.now() - Date.parse(w.lastHeartbeatAt) > STALE_MS;
              return (
                <tr key={w.id} className={stale ? 'stale' : undefined}>
                  <td>
                    {w.id} <span className="muted small">pid {w.pid}</span>
                  </td>
                  <td>{w.state}</td>
                  <td>{w.address}</td>
                  <td>
                    {w.jobId ? (
                      <a href={href({ page: w.kind === 'finetune' ? 'finetune' : 'run', id: w.jobId })}>
                        {w.jobId}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{w.rank ?? '—'}</td>
                  <td>{w.cpuPercent === undefined ? '—' : `${w.cpuPercent.toFixed(0)}%`}</td>
                  <td>{formatBytes(w.rssBytes)}</td>
                  <td>{formatAgo(w.lastHeartbeatAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
