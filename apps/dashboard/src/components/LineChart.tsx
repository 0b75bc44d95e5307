/**
 * A line chart of series over steps, tokens or time (Chart.js on a canvas). The container's `data-points` attribute
 * holds the number of points Chart.js laid out, so tests can check that the chart really drew.
 */
import { useEffect, useRef, type ReactElement } from 'react';
import { downsample, type Point } from '../lib/metrics';
import { Chart } from './chart-setup';

/** One line. */
export interface Series {
  label: string;
  points: readonly Point[];
  color: string;
  /** Draw dots (for sparse series like evaluations). */
  dots?: boolean;
}

/** Props of {@link LineChart}. */
export interface LineChartProps {
  title: string;
  series: readonly Series[];
  logScale?: boolean;
  yLabel?: string;
  /** Title of the x-axis. @defaultValue 'step' */
  xLabel?: string;
  testId?: string;
  /** Points kept per series (downsampled beyond). @defaultValue 1500 */
  maxPoints?: number;
}

/** A line chart; empty series show a "no data yet" note instead of blank axes. */
export function LineChart(props: LineChartProps): ReactElement {
  const { title, series, logScale = false, yLabel, xLabel = 'step', testId, maxPoints = 1500 } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<Chart<'line', Point[]> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart<'line', Point[]>(canvas.current, {
      type: 'line',
      data: { datasets: [] },
      options: {
        parsing: false,
        normalized: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { type: 'linear' } },
        plugins: { legend: { display: true, position: 'bottom' } },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.datasets = series.map((s) => ({
      label: s.label,
      data: downsample(s.points, maxPoints),
      borderColor: s.color,
      backgroundColor: s.color,
      borderWidth: 1.5,
      pointRadius: s.dots ? 3 : 0,
      showLine: true,
    }));
    c.options.scales = {
      x: { type: 'linear', title: { display: true, text: xLabel } },
      y: logScale
        ? { type: 'logarithmic', title: { display: yLabel !== undefined, text: `${yLabel ?? ''} (log)` } }
        : { type: 'linear', title: { display: yLabel !== undefined, text: yLabel ?? '' } },
    };
    c.update();
    const drawn = c.data.datasets.reduce((n, _d, i) => n + c.getDatasetMeta(i).data.length, 0);
    box.current?.setAttribute('data-points', String(drawn));
    // The plot area in canvas pixels, so tests can look at the lines without the legend and axes.
    const a = c.chartArea;
    const r = c.currentDevicePixelRatio;
    box.current?.setAttribute(
      'data-area',
      [a.left, a.top, a.right, a.bottom].map((v) => Math.round(v * r)).join(','),
    );
  }, [series, logScale, yLabel, xLabel, maxPoints]);

  const empty = series.every((s) => s.points.length === 0);
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div className="chart-canvas" ref={box} data-points="0">
        <canvas ref={canvas} aria-label={title} role="img" />
        {empty && <p className="chart-empty">no data yet</p>}
      </div>
    </figure>
  );
}
