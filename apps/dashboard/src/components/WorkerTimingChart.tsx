/** Per-worker step time as stacked bars, compute vs communication; stragglers drawn in red and listed. */
import { useEffect, useRef, type ReactElement } from 'react';
import type { WorkerTiming } from '../lib/metrics';
import { Chart } from './chart-setup';

const COMPUTE = '#3b82f6';
const STRAGGLER = '#dc2626';
const COMM = '#f59e0b';

/** Props of {@link WorkerTimingChart}. */
export interface WorkerTimingChartProps {
  timings: readonly WorkerTiming[];
}

/** Stacked bars per worker; nothing but a note until steps report per-worker timings. */
export function WorkerTimingChart({ timings }: WorkerTimingChartProps): ReactElement {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar', number[], string> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart<'bar', number[], string>(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, title: { display: true, text: 'ms per step (median)' } },
        },
        plugins: { legend: { position: 'bottom' } },
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
    c.data.labels = timings.map((t) => `rank ${t.rank} · ${t.workerId}`);
    c.data.datasets = [
      {
        label: 'compute',
        data: timings.map((t) => t.computeMs),
        // per bar, so stragglers stand out; a plain colour while empty keeps the legend right
        backgroundColor:
          timings.length > 0 ? timings.map((t) => (t.straggler ? STRAGGLER : COMPUTE)) : COMPUTE,
      },
      { label: 'communication', data: timings.map((t) => t.commMs), backgroundColor: COMM },
    ];
    c.update();
  }, [timings]);

  const stragglers = timings.filter((t) => t.straggler);
  return (
    <figure className="chart" data-testid="worker-timing">
      <figcaption>Step time per worker</figcaption>
      <div className="chart-canvas">
        <canvas ref={canvas} aria-label="step time per worker" role="img" />
        {timings.length === 0 && <p className="chart-empty">no per-worker timings yet</p>}
      </div>
      {stragglers.length > 0 && (
        <p className="warning" data-testid="stragglers">
          Straggler{stragglers.length > 1 ? 's' : ''}:{' '}
          {stragglers.map((s) => `rank ${s.rank} (${s.workerId})`).join(', ')}
          {' — '}compute well above the other workers; the rest wait for it in the all-reduce.
        </p>
      )}
    </figure>
  );
}
