/**
 * The figures of a run that the runs list, `forge runs list` and the compare view sort and filter by,
 * derived from what the run recorded (its evaluations and recent steps); nothing here is stored.
 */
import { isTerminal } from './run-state';
import type { EvalRecord, Run, StepMetrics } from './run.model';
import type { RunAnnotation } from './run-annotations';

/** Derived figures of a run; null where the run has none yet. */
export interface RunFigures {
  /** Lowest validation loss of any evaluation. */
  bestValLoss: number | null;
  /** Validation loss of the last evaluation that had one. */
  finalValLoss: number | null;
  /**
   * Wall time in seconds from creation to the end (a finished run: its last update) or to now
   * (queued, running or paused: the clock still runs, as in any experiment tracker).
   */
  durationSeconds: number | null;
  /** Median tokens per second of the recent steps (a median, so one slow evaluation step does not count). */
  tokensPerSecond: number | null;
}

/** A run as `GET /runs` lists it: the record, its derived figures and its annotations. */
export type RunSummary = Run & RunFigures & RunAnnotation;

/** How many of the newest steps {@link runFigures} takes the throughput of. */
export const THROUGHPUT_WINDOW = 20;

/** The derived figures of `run` from its evaluations and its newest step metrics (`now` for tests). */
export function runFigures(
  run: Run,
  evals: readonly EvalRecord[],
  recent: readonly StepMetrics[],
  now: number = Date.now(),
): RunFigures {
  const valLosses = evals.map((e) => e.valLoss).filter((v): v is number => Number.isFinite(v));
  return {
    bestValLoss: valLosses.length > 0 ? Math.min(...valLosses) : null,
    finalValLoss: valLosses.at(-1) ?? null,
    durationSeconds: durationSeconds(run, now),
    tokensPerSecond: median(
      recent
        .slice(-THROUGHPUT_WINDOW)
        .map((m) => m.tokensPerSecond)
        .filter((v): v is number => Number.isFinite(v)),
    ),
  };
}

function durationSeconds(run: Run, now: number): number | null {
  const start = Date.parse(run.createdAt);
  const end = isTerminal(run.status) ? Date.parse(run.updatedAt) : now;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  return Math.max(0, Math.round((end - start) / 1000));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Seconds left of a running run at the pace of its last {@link THROUGHPUT_WINDOW} timed steps
 * (undefined otherwise), the figure `GET /runs/:id` has, for the runs list.
 */
export function etaSeconds(run: Run, recent: readonly StepMetrics[]): number | undefined {
  const timed = recent.slice(-THROUGHPUT_WINDOW).filter((m) => m.stepMs !== undefined);
  if (timed.length === 0 || run.status !== 'running') return undefined;
  const perStep = timed.reduce((s, m) => s + (m.stepMs ?? 0), 0) / timed.length / 1000;
  return Math.round(perStep * (run.progress.totalSteps - run.progress.step));
}
