/** One finetune job: status, its base run, duration, hyperparameters, loss and accuracy curves, evaluation, cancel. */
import { useCallback, useMemo, useState, type ReactElement } from 'react';
import type { FinetuneDetail, FinetuneMetric } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { LineChart, type Series } from '../components/LineChart';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useLiveEvents } from '../hooks/useLiveState';
import { useResource } from '../hooks/useResource';
import type { Point } from '../lib/metrics';
import { baseRunId, finetuneParams, finetuneSeconds } from '../lib/finetune-facts';
import { formatDuration } from '../lib/format';
import { applyFinetuneEvent } from '../lib/live-state';
import { href } from '../lib/routes';
import { isFinished } from '../lib/run-actions';
import { EvaluationPanel } from './finetune/EvaluationPanel';

type MetricKey = Exclude<keyof FinetuneMetric, 'step'>;

function points(metrics: readonly FinetuneMetric[], key: MetricKey): Point[] {
  const out: Point[] = [];
  for (const m of metrics) {
    const y = m[key];
    if (y !== undefined && Number.isFinite(y)) out.push({ x: m.step, y });
  }
  return out;
}

/** The page of finetune job `id`. */
export function FinetunePage({ id }: { id: string }): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => api.getFinetune(id), [api, id]);
  const job = useResource<FinetuneDetail>(load);
  const [actionError, setActionError] = useState<Error>();
  useLiveEvents({ finetune: (f) => job.setData((d) => applyFinetuneEvent(d, f)) });
  const metrics = job.data?.metrics;
  const loss = useMemo<Series[]>(
    () => [
      { label: 'train loss', points: points(metrics ?? [], 'trainLoss'), color: '#3b82f6' },
      { label: 'validation loss', points: points(metrics ?? [], 'valLoss'), color: '#ef4444', dots: true },
    ],
    [metrics],
  );
  const accuracy = useMemo<Series[]>(
    () => [
      {
        label: 'train accuracy',
        points: points(metrics ?? [], 'trainAccuracy'),
        color: '#3b82f6',
        dots: true,
      },
      {
        label: 'validation accuracy',
        points: points(metrics ?? [], 'valAccuracy'),
        color: '#ef4444',
        dots: true,
      },
    ],
    [metrics],
  );

  const f = job.data;
  if (!f) return job.error ? <ErrorNotice error={job.error} /> : <p>Loading…</p>;
  const cancel = async (): Promise<void> => {
    setActionError(undefined);
    try {
      const updated = await api.cancelFinetune(f.id);
      job.setData((d) => (d ? { ...d, ...updated, metrics: d.metrics } : d));
    } catch (err) {
      setActionError(err as Error);
    }
  };
  return (
    <section data-testid="finetune-page">
      <header className="page-header">
        <h1>{f.name ?? `${f.kind} finetune ${f.id}`}</h1>
        <StatusBadge status={f.status} />
      </header>
      <FinetuneFacts job={f} />
      {f.error && <p className="error">failed: {f.error}</p>}
      <ProgressBar value={f.progress.step} total={f.progress.totalSteps} />
      {!isFinished(f.status) && (
        <div className="actions">
          <button className="danger" onClick={() => void cancel()}>
            Cancel
          </button>
        </div>
      )}
      <ErrorNotice error={actionError ?? job.error} />
      <div className="charts">
        <LineChart title="Loss" series={loss} yLabel="loss" testId="finetune-loss-chart" />
        {f.kind === 'classification' && (
          <LineChart title="Accuracy" series={accuracy} yLabel="accuracy" testId="finetune-accuracy-chart" />
        )}
      </div>
      <h2>Evaluation</h2>
      <EvaluationPanel evaluation={f.evaluation} />
      <FinetuneParams job={f} />
    </section>
  );
}

/** Where the job comes from (its base run linked when it has one), its data and how long it ran. */
function FinetuneFacts({ job }: { job: FinetuneDetail }): ReactElement {
  const run = baseRunId(job);
  return (
    <p className="muted" data-testid="finetune-facts">
      {job.kind} {job.name ? `${job.id} ` : ''}from{' '}
      {run ? (
        <a href={href({ page: 'run', id: run })} data-testid="base-run">
          {job.baseCheckpoint ?? run}
        </a>
      ) : (
        (job.baseCheckpoint ?? 'random weights')
      )}{' '}
      on {job.dataset ?? '—'};{' '}
      <span data-testid="finetune-duration">{formatDuration(finetuneSeconds(job))}</span>
      {isFinished(job.status) ? '' : ' so far'}
    </p>
  );
}

/** The job's hyperparameters (its spec, flattened). */
function FinetuneParams({ job }: { job: FinetuneDetail }): ReactElement | null {
  const params = finetuneParams(job);
  if (params.length === 0) return null;
  return (
    <section data-testid="finetune-params">
      <h2>Hyperparameters</h2>
      <table className="table">
        <tbody>
          {params.map(([key, value]) => (
            <tr key={key} data-param={key}>
              <td>
                <code>{key}</code>
              </td>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
