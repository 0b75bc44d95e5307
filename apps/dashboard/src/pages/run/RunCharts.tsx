/** The run's curves: train/validation loss (log-scale toggle), learning rate, gradient norm, tokens/s, per-worker time. */
import { useMemo, useState, type ReactElement } from 'react';
import type { RunDetail, StepMetric } from '../../api/types';
import { LineChart, type Series } from '../../components/LineChart';
import { WorkerTimingChart } from '../../components/WorkerTimingChart';
import { RUN_COLOURS } from '../../lib/compare';
import { evalSeries, seriesOf, workerSeries, workerTimings } from '../../lib/metrics';

/** All charts of a run page. */
export function RunCharts({ run }: { run: RunDetail }): ReactElement {
  const [log, setLog] = useState(false);
  const { metrics, evals } = run;
  const loss = useMemo<Series[]>(
    () => [
      { label: 'train loss (step)', points: seriesOf(metrics, 'loss'), color: '#3b82f6' },
      { label: 'train loss (eval)', points: evalSeries(evals, 'trainLoss'), color: '#8b5cf6', dots: true },
      { label: 'validation loss', points: evalSeries(evals, 'valLoss'), color: '#ef4444', dots: true },
    ],
    [metrics, evals],
  );
  const lr = useMemo<Series[]>(
    () => [{ label: 'learning rate', points: seriesOf(metrics, 'lr'), color: '#10b981' }],
    [metrics],
  );
  const gradNorm = useMemo<Series[]>(
    () => [
      { label: 'gradient norm (before clipping)', points: seriesOf(metrics, 'gradNorm'), color: '#ec4899' },
    ],
    [metrics],
  );
  const tps = useMemo<Series[]>(
    () => [{ label: 'tokens/s', points: seriesOf(metrics, 'tokensPerSecond'), color: '#f59e0b' }],
    [metrics],
  );
  const timings = useMemo(() => workerTimings(metrics), [metrics]);
  const compute = useMemo(() => perWorker(metrics, 'computeMs'), [metrics]);
  const comm = useMemo(() => perWorker(metrics, 'commMs'), [metrics]);

  return (
    <div className="charts">
      <div className="chart-wide">
        <label className="toggle">
          <input type="checkbox" name="log-scale" checked={log} onChange={(e) => setLog(e.target.checked)} />{' '}
          log scale
        </label>
        <LineChart title="Loss" series={loss} logScale={log} yLabel="loss" testId="loss-chart" />
      </div>
      <LineChart title="Learning rate" series={lr} testId="lr-chart" />
      <LineChart title="Gradient norm" series={gradNorm} yLabel="norm" testId="grad-norm-chart" />
      <LineChart title="Throughput" series={tps} yLabel="tokens/s" testId="tps-chart" />
      <WorkerTimingChart timings={timings} />
      <LineChart title="Compute per worker" series={compute} yLabel="ms" testId="worker-compute-chart" />
      <LineChart title="Communication per worker" series={comm} yLabel="ms" testId="worker-comm-chart" />
    </div>
  );
}

/** One line per worker of its compute or communication time over the steps. */
function perWorker(metrics: readonly StepMetric[], key: 'computeMs' | 'commMs'): Series[] {
  return workerSeries(metrics, key).map((w, i) => ({
    label: `rank ${w.rank} (${w.workerId})`,
    points: w.points,
    color: RUN_COLOURS[i % RUN_COLOURS.length],
  }));
}
