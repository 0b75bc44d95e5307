/** The overlaid curves of the compared runs: one line per run, in its colour, on the chosen x-axis. */
import { useMemo, type ReactElement } from 'react';
import type { RunDetail } from '../../api/types';
import { LineChart, type Series } from '../../components/LineChart';
import {
  comparePoints,
  RUN_COLOURS,
  smooth,
  X_AXIS_LABELS,
  xPositions,
  type CompareMetric,
  type XAxis,
} from '../../lib/compare';
import { tokensPerStep } from '../../lib/metrics';

/** The charts: metric, title, y label, whether smoothing applies (not to the schedule-made lr). */
const CHARTS: readonly [CompareMetric, string, string, boolean][] = [
  ['loss', 'Train loss', 'loss', true],
  ['valLoss', 'Validation loss', 'loss', true],
  ['lr', 'Learning rate', 'lr', false],
  ['gradNorm', 'Gradient norm', 'norm', true],
  ['tokensPerSecond', 'Throughput', 'tokens/s', true],
];

/** Props of {@link CompareCharts}. */
export interface CompareChartsProps {
  runs: readonly RunDetail[];
  x: XAxis;
  smoothing: number;
}

/** One chart per metric. */
export function CompareCharts({ runs, x, smoothing }: CompareChartsProps): ReactElement {
  const charts = useMemo(() => {
    const positions = runs.map((r) => xPositions(r.metrics, x, tokensPerStep(r)));
    return CHARTS.map(([metric, title, yLabel, smoothed]) => {
      const series: Series[] = runs.map((run, i) => {
        const points = comparePoints(run.metrics, run.evals, metric, positions[i]);
        return {
          label: run.name ?? run.id,
          points: smoothed ? smooth(points, smoothing) : points,
          color: RUN_COLOURS[i % RUN_COLOURS.length],
          dots: metric === 'valLoss',
        };
      });
      return { metric, title, yLabel, series };
    });
  }, [runs, x, smoothing]);
  return (
    <div className="charts">
      {charts.map((c) => (
        <LineChart
          key={c.metric}
          title={c.title}
          series={c.series}
          yLabel={c.yLabel}
          xLabel={X_AXIS_LABELS[x]}
          testId={`compare-${c.metric}`}
        />
      ))}
    </div>
  );
}
