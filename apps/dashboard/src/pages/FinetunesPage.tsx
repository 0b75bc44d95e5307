/** All finetune jobs; live updates from `event: finetune`. */
import { useCallback, type ReactElement } from 'react';
import type { Finetune } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useLiveEvents } from '../hooks/useLiveState';
import { useResource } from '../hooks/useResource';
import { formatAgo } from '../lib/format';
import { finetuneRow, upsertById } from '../lib/live-state';
import { href } from '../lib/routes';

/** The finetunes table. */
export function FinetunesPage(): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => api.listFinetunes(), [api]);
  const jobs = useResource<Finetune[]>(load);
  useLiveEvents({
    finetune: (f) => jobs.setData((list) => (list ? upsertById(list, finetuneRow(f)) : list)),
  });

  return (
    <section>
      <header className="page-header">
        <h1>Finetunes</h1>
        <a className="button" href={href({ page: 'new-finetune' })}>
          New finetune
        </a>
      </header>
      <ErrorNotice error={jobs.error} />
      {jobs.data === undefined ? (
        !jobs.error && <p>Loading…</p>
      ) : jobs.data.length === 0 ? (
        <p className="empty">No finetune jobs yet.</p>
      ) : (
        <table className="table" data-testid="finetunes-table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Kind</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Base checkpoint</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.map((f) => (
              <tr key={f.id} data-finetune-id={f.id}>
                <td>
                  <a href={href({ page: 'finetune', id: f.id })}>{f.name ?? f.id}</a>
                  {f.name && <div className="muted small">{f.id}</div>}
                </td>
                <td>{f.kind}</td>
                <td>
                  <StatusBadge status={f.status} />
                </td>
                <td data-col="progress">
                  <FinetuneProgress job={f} />
                </td>
                <td>{f.baseCheckpoint ?? '—'}</td>
                <td>{formatAgo(f.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * A job's progress; before its ring knows the total steps (queued, or starting) "0 / 0" would read as
 * done, so it says what is happening instead.
 */
function FinetuneProgress({ job }: { job: Finetune }): ReactElement {
  if (job.progress.totalSteps > 0)
    return <ProgressBar value={job.progress.step} total={job.progress.totalSteps} />;
  const word = job.status === 'queued' ? 'waiting for workers' : job.status === 'running' ? 'starting…' : '—';
  return <span className="muted">{word}</span>;
}
