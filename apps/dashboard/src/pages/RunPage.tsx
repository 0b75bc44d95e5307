/** One run: header figures, actions, live curves, samples, checkpoints and the spec. */
import { useCallback, type ReactElement } from 'react';
import type { CheckpointInfo, Run, RunDetail } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useLiveEvents } from '../hooks/useLiveState';
import { useResource } from '../hooks/useResource';
import {
  formatAgo,
  formatBytes,
  formatCount,
  formatDuration,
  formatNumber,
  formatWorkers,
} from '../lib/format';
import { etaSeconds, mergeMetric, recentTokensPerSecond, tokensSeen } from '../lib/metrics';
import { AnnotationsPanel } from './run/AnnotationsPanel';
import { CheckpointsPanel } from './run/CheckpointsPanel';
import { RunActions } from './run/RunActions';
import { RunCharts } from './run/RunCharts';
import { RunWorkersPanel } from './run/RunWorkersPanel';
import { SamplesPanel } from './run/SamplesPanel';

/** The page of run `id`. */
export function RunPage({ id }: { id: string }): ReactElement {
  const { api } = useServices();
  const loadRun = useCallback(() => api.getRun(id), [api, id]);
  const loadCheckpoints = useCallback(() => api.listCheckpoints(id), [api, id]);
  const detail = useResource<RunDetail>(loadRun);
  const checkpoints = useResource<CheckpointInfo[]>(loadCheckpoints, { fastMs: 5000, slowMs: 15000 });
  const { setData } = detail;

  const applyRun = useCallback(
    (run: Run) => setData((d) => (d && run.id === d.id ? { ...d, ...run, metrics: d.metrics } : d)),
    [setData],
  );
  useLiveEvents({
    run: applyRun,
    step: ({ runId, metric }) =>
      setData((d) => (d && runId === d.id ? { ...d, metrics: mergeMetric(d.metrics, metric) } : d)),
  });

  const run = detail.data;
  if (!run) return detail.error ? <ErrorNotice error={detail.error} /> : <p>Loading…</p>;
  return (
    <section data-testid="run-page" data-run-id={run.id}>
      <header className="page-header">
        <h1>{run.name ?? run.id}</h1>
        <StatusBadge status={run.status} />
        {run.archived && <span className="muted">archived</span>}
        {(run.tags ?? []).map((t) => (
          <span key={t} className="tag">
            {t}
          </span>
        ))}
      </header>
      <ErrorNotice error={detail.error} />
      {run.error && <p className="error">failed: {run.error}</p>}
      <RunFigures run={run} />
      <RunActions
        run={run}
        checkpoints={checkpoints.data ?? []}
        onChanged={(r) => {
          applyRun(r);
          void checkpoints.reload();
        }}
      />
      <RunCharts run={run} />
      <RunWorkersPanel run={run} />
      <AnnotationsPanel run={run} onChanged={applyRun} />
      <div className="two-columns">
        <section>
          <h2>Samples</h2>
          <SamplesPanel samples={run.samples} />
        </section>
        <section>
          <h2>Checkpoints</h2>
          <ErrorNotice error={checkpoints.error} />
          <CheckpointsPanel runId={run.id} checkpoints={checkpoints.data} />
        </section>
      </div>
      <details>
        <summary>Spec</summary>
        <pre>{JSON.stringify(run.spec, null, 2)}</pre>
      </details>
    </section>
  );
}

function RunFigures({ run }: { run: RunDetail }): ReactElement {
  const last = run.metrics[run.metrics.length - 1];
  return (
    <dl className="figures">
      <Figure label="Progress">
        <ProgressBar value={run.progress.step} total={run.progress.totalSteps} />
      </Figure>
      <Figure label="Loss">{formatNumber(last?.loss)}</Figure>
      <Figure label="Tokens seen">{formatCount(tokensSeen(run))}</Figure>
      <Figure label="Tokens/s">{formatCount(recentTokensPerSecond(run.metrics))}</Figure>
      <Figure label="ETA">{formatDuration(etaSeconds(run, run.metrics))}</Figure>
      <Figure label="Best val loss">{formatNumber(run.bestValLoss ?? undefined)}</Figure>
      <Figure label="Duration">{formatDuration(run.durationSeconds ?? undefined)}</Figure>
      <Figure label="Workers">{formatWorkers(run)}</Figure>
      <Figure label="Sync">{syncMode(run)}</Figure>
      <Figure label="Sent per step">{formatBytes(last?.bytesSent)}</Figure>
      <Figure label="Attempt">{run.progress.attempt}</Figure>
      <Figure label="Updated">{formatAgo(run.updatedAt)}</Figure>
    </dl>
  );
}

/**
 * How the run's workers synchronise: `ddp`, `ddp, no overlap` or `diloco H=50, η 0.7, μ 0.9` (runs
 * from before the setting: ddp).
 */
function syncMode(run: RunDetail): string {
  const sync = run.spec.sync;
  if (sync?.mode === 'diloco') {
    return `diloco H=${sync.innerSteps}, η ${sync.outerLr}, μ ${sync.outerMomentum}`;
  }
  return sync?.overlap === false ? 'ddp, no overlap' : 'ddp';
}

function Figure({
  label,
  children,
}: {
  label: string;
  children: ReactElement | string | number;
}): ReactElement {
  return (
    <div className="figure" data-testid={`figure-${label.toLowerCase().replace(/[^a-z]+/g, '-')}`}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
