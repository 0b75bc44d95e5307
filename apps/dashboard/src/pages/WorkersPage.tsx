/**
 * Registered workers: state, address, job (run or finetune) and rank, CPU and memory of the worker
 * process, heartbeat age (stale ones stand out).
 */
import { useCallback, useState, type ReactElement } from 'react';
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
              <th>Log</th>
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
                  <td>
                    <WorkerLog id={w.id} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * A worker's newest log lines on request (its heartbeats carry them to the coordinator), refreshed
 * while shown: one line each, level and message first.
 */
export function WorkerLog({ id }: { id: string }): ReactElement {
  const [shown, setShown] = useState(false);
  if (!shown) {
    return (
      <button type="button" className="link" onClick={() => setShown(true)}>
        show
      </button>
    );
  }
  return <WorkerLogLines id={id} />;
}

function WorkerLogLines({ id }: { id: string }): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => api.workerLog(id), [api, id]);
  const log = useResource<string[]>(load, { fastMs: 2000, slowMs: 5000 });
  return (
    <>
      <ErrorNotice error={log.error} />
      <pre className="worker-log" data-testid={`worker-log-${id}`}>
        {log.data === undefined || log.data.length === 0 ? 'no lines yet' : log.data.map(logLine).join('\n')}
      </pre>
    </>
  );
}

/** Fields of a pino line every line of a worker has: left out of the display. */
const COMMON_FIELDS = new Set(['level', 'msg', 'time', 'pid', 'hostname', 'service', 'workerId']);

/** `level message {fields}` of a pino JSON line (the line itself when it is not JSON). */
function logLine(line: string): string {
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const rest = Object.fromEntries(Object.entries(record).filter(([k]) => !COMMON_FIELDS.has(k)));
    const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${String(record.level ?? '')} ${String(record.msg ?? '')}${fields}`.trim();
  } catch {
    return line;
  }
}
