/**
 * The compare view's data: its state in the URL, the curves of several runs on a chosen x-axis
 * (step, tokens or wall time), TensorBoard's smoothing, and the hyperparameters that differ.
 */
import type { EvalPoint, RunSpec, StepMetric } from '../api/types';
import type { Point } from './metrics';

/** What the x-axis counts. */
export const X_AXES = ['step', 'tokens', 'time'] as const;
/** An x-axis. */
export type XAxis = (typeof X_AXES)[number];

/** Axis titles. */
export const X_AXIS_LABELS: Readonly<Record<XAxis, string>> = {
  step: 'step',
  tokens: 'tokens',
  time: 'wall time (s)',
};

/** The whole state of the compare view, kept in the URL so a link shows the same comparison. */
export interface CompareState {
  runs: string[];
  x: XAxis;
  /** Smoothing weight in [0, 1): 0 draws the raw curve. */
  smoothing: number;
}

/** The state of a query string `runs=a,b&x=tokens&smooth=0.6` (anything malformed falls back to defaults). */
export function parseCompareQuery(query: string): CompareState {
  const params = new URLSearchParams(query);
  const runs = [...new Set((params.get('runs') ?? '').split(',').filter(Boolean))];
  const x = params.get('x');
  const smoothing = Number(params.get('smooth') ?? 0);
  return {
    runs,
    x: (X_AXES as readonly string[]).includes(x ?? '') ? (x as XAxis) : 'step',
    smoothing: Number.isFinite(smoothing) && smoothing >= 0 && smoothing < 1 ? smoothing : 0,
  };
}

/** The query string of a state (inverse of {@link parseCompareQuery}); commas in ids stay readable. */
export function compareQuery(state: CompareState): string {
  const parts = [`runs=${state.runs.map(encodeURIComponent).join(',')}`];
  if (state.x !== 'step') parts.push(`x=${state.x}`);
  if (state.smoothing > 0) parts.push(`smooth=${state.smoothing}`);
  return parts.join('&');
}

/**
 * Exponential moving average with TensorBoard's debiasing (the early points are not pulled towards
 * 0): `weight` 0 returns the points unchanged, 0.99 a very flat curve.
 */
export function smooth(points: readonly Point[], weight: number): Point[] {
  if (weight <= 0) return points.slice();
  let last = 0;
  return points.map((p, i) => {
    last = last * weight + (1 - weight) * p.y;
    return { x: p.x, y: last / (1 - weight ** (i + 1)) };
  });
}

/**
 * For each step taken, its position on `axis`: the step count after it, the tokens trained on so far
 * (tokens/s × step time; `tokensPerStep` when a step lacks them) or the seconds of step time so far.
 * Keyed by steps completed (a metric's `step` + 1), the key evaluations use.
 */
export function xPositions(
  metrics: readonly StepMetric[],
  axis: XAxis,
  tokensPerStep: number | undefined,
): Map<number, number> {
  const out = new Map<number, number>();
  let tokens = 0;
  let seconds = 0;
  for (const m of metrics) {
    const stepSeconds = (m.stepMs ?? 0) / 1000;
    tokens +=
      m.tokensPerSecond !== undefined && m.stepMs !== undefined
        ? m.tokensPerSecond * stepSeconds
        : (tokensPerStep ?? 0);
    seconds += stepSeconds;
    out.set(m.step + 1, axis === 'step' ? m.step + 1 : axis === 'tokens' ? Math.round(tokens) : seconds);
  }
  return out;
}

/** Metrics the compare view overlays. */
export type CompareMetric = 'loss' | 'valLoss' | 'lr' | 'gradNorm' | 'tokensPerSecond';

/** The points of `metric` of one run on the x-axis of `positions` ({@link xPositions}). */
export function comparePoints(
  metrics: readonly StepMetric[],
  evals: readonly EvalPoint[] | undefined,
  metric: CompareMetric,
  positions: Map<number, number>,
): Point[] {
  const out: Point[] = [];
  const add = (completed: number, y: number | undefined): void => {
    const x = positions.get(completed);
    if (x !== undefined && y !== undefined && Number.isFinite(y)) out.push({ x, y });
  };
  if (metric === 'valLoss') for (const e of evals ?? []) add(e.step, e.valLoss);
  else for (const m of metrics) add(m.step + 1, m[metric]);
  return out;
}

/** One hyperparameter and its value in each run (in the order of the runs given). */
export interface ParamRow {
  key: string;
  values: string[];
}

/** A spec as dotted keys (`optimizer.lr`) and printable values; absent fields are `—`. */
export function flattenSpec(spec: RunSpec | Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flattenSpec(v as Record<string, unknown>, key));
    else if (v !== undefined) out[key] = printable(v);
  }
  return out;
}

/** A spec value as text; numbers to 12 significant digits (a computed `lr / 10` prints as 0.0003, not 0.00030000000000000003). */
function printable(v: unknown): string {
  if (typeof v === 'number') return String(Number(v.toPrecision(12)));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The hyperparameters whose values are not the same in every spec, sorted by key. */
export function differingParams(specs: readonly RunSpec[]): ParamRow[] {
  const flat = specs.map((s) => flattenSpec(s));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return keys
    .map((key) => ({ key, values: flat.map((f) => f[key] ?? '—') }))
    .filter((row) => new Set(row.values).size > 1);
}

/** Line colours of the compared runs, in order (distinct for the colour-blind too, as far as 8 go). */
export const RUN_COLOURS = [
  '#3b82f6',
  '#ef4444',
  '#10b981',
  '#f59e0b',
  '#8b5cf6',
  '#0ea5e9',
  '#ec4899',
  '#64748b',
];
