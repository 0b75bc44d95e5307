/**
 * The workers of a run's current ring: each one's CPU and memory (from its heartbeats) and, on
 * request, its newest log lines; refreshed while the page is open.
 */
import { useCallback, type ReactElement } from 'react';
import type { RunDetail, WorkerInfo } from '../../api/types';
import { useServices } from '../../app/context';
import { ErrorNotice } from '../../components/ErrorNotice';
import { useResource } from '../../hooks/useResource';
import { formatBytes } from '../../lib/format';
import { WorkerLog } from '../WorkersPage';

/** The run's ring members with their CPU, memory and log. */
export function RunWorkersPanel({ run }: { run: RunDetail }): ReactElement | null {
  const { api } = useServices();
  const load = useCallback(() => api.listWorkers(), [api]);
  const workers = useResource<WorkerInfo[]>(load, { fastMs: 3000, slowMs: 10000 });
  const members = run.members ?? [];
  if (members.length === 0) return null;
  const byId = new Map((workers.data ?? []).map((w) => [w.id, w]));
  return (
    <section>
      <h2>Workers</h2>
      <ErrorNotice error={workers.error} />
      <table className="table" data-testid="run-workers">
        <thead>
          <tr>
            <th>Rank</th>
            <th>Worker</th>
            <th title="CPU of the worker process, percent of one core">CPU</th>
            <th>Memory</th>
            <th>Log</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m, rank) => {
            const w = byId.get(m.workerId);
            return (
              <tr key={m.workerId}>
                <td>{rank}</td>
                <td>{m.workerId}</td>
                <td>{w?.cpuPercent === undefined ? '—' : `${w.cpuPercent.toFixed(0)}%`}</td>
                <td>{formatBytes(w?.rssBytes)}</td>
                <td>{w ? <WorkerLog id={m.workerId} /> : 'gone'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
