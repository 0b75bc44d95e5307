/**
 * Step metrics into chart series and summary figures: merging live step events, loss curves,
 * downsampling, throughput, ETA, and the per-worker compute/communication split with stragglers.
 */
import type { EvalPoint, Run, StepMetric } from '../api/types';

/** A chart point: x = step. */
export interface Point {
  x: number;
  y: number;
}

/**
 * Adds a step's metrics to a list sorted by step; a step reported again (a retried attempt) replaces
 * the old entry. Returns a new array (React state), the input is not modified.
 */
export function mergeMetric(metrics: readonly StepMetric[], metric: StepMetric): StepMetric[] {
  const out = metrics.slice();
  let i = out.length;
  while (i > 0 && out[i - 1].step > metric.step) i--;
  if (i > 0 && out[i - 1].step === metric.step) out[i - 1] = metric;
  else out.splice(i, 0, metric);
  return out;
}

/**
 * Points of `key` over steps, skipping steps that lack it (or have a non-finite value). A metric's
 * `step` is the 0-based index of the step taken; it is plotted at the steps completed after it
 * (step + 1), the axis evaluations and checkpoints use, so the curves line up.
 */
export function seriesOf(
  metrics: readonly StepMetric[],
  key: 'loss' | 'lr' | 'gradNorm' | 'tokensPerSecond' | 'computeMs' | 'commMs',
): Point[] {
  const out: Point[] = [];
  for (const m of metrics) {
    const y = m[key];
    if (y !== undefined && Number.isFinite(y)) out.push({ x: m.step + 1, y });
  }
  return out;
}

/** Validation (or evaluated train) loss points from the run's evaluations. */
export function evalSeries(evals: readonly EvalPoint[] | undefined, key: 'trainLoss' | 'valLoss'): Point[] {
  const out: Point[] = [];
  for (const e of evals ?? []) {
    const y = e[key];
    if (y !== undefined && Number.isFinite(y)) out.push({ x: e.step, y });
  }
  return out;
}

/**
 * At most `max` points that keep the curve's shape: the series is cut into buckets and each bucket
 * keeps its lowest and highest point (in x order); the first and last points always survive.
 */
export function downsample(points: readonly Point[], max: number): Point[] {
  if (max < 4) throw new Error(`downsample: max must be at least 4, got ${max}`);
  if (points.length <= max) return points.slice();
  const inner = points.slice(1, -1);
  const buckets = Math.floor((max - 2) / 2);
  const size = inner.length / buckets;
  const out: Point[] = [points[0]];
  for (let b = 0; b < buckets; b++) {
    const bucket = inner.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (bucket.length === 0) continue;
    let lo = bucket[0];
    let hi = bucket[0];
    for (const p of bucket) {
      if (p.y < lo.y) lo = p;
      if (p.y > hi.y) hi = p;
    }
    if (lo === hi) out.push(lo);
    else out.push(...(lo.x < hi.x ? [lo, hi] : [hi, lo]));
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Median of the numbers (undefined for none). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median tokens/s over the last `window` steps that report it. */
export function recentTokensPerSecond(metrics: readonly StepMetric[], window = 20): number | undefined {
  return median(seriesOf(metrics.slice(-window), 'tokensPerSecond').map((p) => p.y));
}

/** Tokens per optimizer step, when the spec says the context length. */
export function tokensPerStep(run: Pick<Run, 'spec'>): number | undefined {
  const { batchSize, contextLength } = run.spec;
  return contextLength === undefined ? undefined : batchSize * contextLength;
}

/** Tokens trained on so far: the coordinator's figure, else steps × tokens per step. */
export function tokensSeen(run: Pick<Run, 'spec' | 'progress' | 'tokensSeen'>): number | undefined {
  if (run.tokensSeen !== undefined) return run.tokensSeen;
  const perStep = tokensPerStep(run);
  return perStep === undefined ? undefined : perStep * run.progress.step;
}

/**
 * Seconds left: the coordinator's estimate, else the remaining tokens over the recent throughput.
 * 0 for a completed run; undefined when neither is known and for a cancelled or failed run (it will
 * never end, and "0s" would say it has).
 */
export function etaSeconds(
  run: Pick<Run, 'spec' | 'progress' | 'etaSeconds' | 'status'>,
  metrics: readonly StepMetric[],
): number | undefined {
  if (run.status === 'completed') return 0;
  if (run.status === 'cancelled' || run.status === 'failed') return undefined;
  if (run.etaSeconds !== undefined) return run.etaSeconds;
  const perStep = tokensPerStep(run);
  const tps = recentTokensPerSecond(metrics);
  if (perStep === undefined || tps === undefined || tps <= 0) return undefined;
  return ((run.progress.totalSteps - run.progress.step) * perStep) / tps;
}

/** One worker's typical step time, split into compute and communication. */
export interface WorkerTiming {
  workerId: string;
  rank: number;
  computeMs: number;
  commMs: number;
  totalMs: number;
  /** Slower than the other workers by more than the straggler threshold. */
  straggler: boolean;
}

/** Options of {@link workerTimings}. */
export interface WorkerTimingOptions {
  /** Steps to take medians over (the most recent ones). @defaultValue 20 */
  window?: number;
  /** A worker whose compute time exceeds the median worker's by this fraction is a straggler. @defaultValue 0.25 */
  threshold?: number;
}

/**
 * Per worker, the median compute and communication time over the recent steps. Stragglers are
 * judged on compute time: in a ring all-reduce the fast ranks wait for the slow one, so their
 * communication time grows while the straggler's does not — total time would blame the wrong ranks.
 */
export function workerTimings(
  metrics: readonly StepMetric[],
  options: WorkerTimingOptions = {},
): WorkerTiming[] {
  const window = options.window ?? 20;
  const threshold = options.threshold ?? 0.25;
  const samples = new Map<string, { rank: number; compute: number[]; comm: number[] }>();
  for (const m of metrics.slice(-window)) {
    for (const w of m.workers ?? []) {
      const s = samples.get(w.workerId) ?? { rank: w.rank, compute: [], comm: [] };
      s.rank = w.rank;
      s.compute.push(w.computeMs);
      s.comm.push(w.commMs);
      samples.set(w.workerId, s);
    }
  }
  const rows = [...samples].map(([workerId, s]) => {
    const computeMs = median(s.compute) ?? 0;
    const commMs = median(s.comm) ?? 0;
    return { workerId, rank: s.rank, computeMs, commMs, totalMs: computeMs + commMs, straggler: false };
  });
  const typical = median(rows.map((r) => r.computeMs));
  if (rows.length > 1 && typical !== undefined && typical > 0) {
    for (const r of rows) r.straggler = r.computeMs > typical * (1 + threshold);
  }
  return rows.sort((a, b) => a.rank - b.rank || a.workerId.localeCompare(b.workerId));
}

/**
 * Per worker, the points of its `computeMs` or `commMs` over the steps (x: steps completed), in rank
 * order of the newest step: how each worker's share of a step evolved, where the medians of
 * {@link workerTimings} show only the recent typical value.
 */
export function workerSeries(
  metrics: readonly StepMetric[],
  key: 'computeMs' | 'commMs',
): { workerId: string; rank: number; points: Point[] }[] {
  const byWorker = new Map<string, { rank: number; points: Point[] }>();
  for (const m of metrics) {
    for (const w of m.workers ?? []) {
      const entry = byWorker.get(w.workerId) ?? { rank: w.rank, points: [] };
      entry.rank = w.rank;
      if (Number.isFinite(w[key])) entry.points.push({ x: m.step + 1, y: w[key] });
      byWorker.set(w.workerId, entry);
    }
  }
  return [...byWorker]
    .map(([workerId, e]) => ({ workerId, ...e }))
    .sort((a, b) => a.rank - b.rank || a.workerId.localeCompare(b.workerId));
}
