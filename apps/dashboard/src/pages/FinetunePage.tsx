/** One finetune job: status, loss and accuracy curves, evaluation, cancel. */
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
import { applyFinetuneEvent } from '../lib/live-state';
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
        <h1>
          {f.kind} finetune {f.id}
        </h1>
        <StatusBadge status={f.status} />
      </header>
      <p className="muted">
        from {f.baseCheckpoint ?? '—'} on {f.dataset ?? '—'}
      </p>
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
    </section>
  );
}
