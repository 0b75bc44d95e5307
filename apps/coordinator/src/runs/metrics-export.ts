/**
 * A run's metrics as a file to download (`GET /runs/:id/metrics?format=csv|jsonl`): one row per step
 * with the step's figures, the tokens and wall time so far (the compare view's other x-axes), and
 * the evaluation made right after that step, if any.
 */
import type { EvalRecord, StepMetrics } from './run.model';

/** The export formats. */
export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
/** An export format. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One exported step; absent figures are null. */
export interface ExportRow {
  step: number;
  loss: number;
  lr: number | null;
  gradNorm: number | null;
  tokensPerSecond: number | null;
  stepMs: number | null;
  computeMs: number | null;
  commMs: number | null;
  bytesSent: number | null;
  /** Tokens trained on up to and including this step (tokensPerSecond × stepMs summed). */
  tokens: number | null;
  /** Seconds of step wall time up to and including this step. */
  elapsedSeconds: number | null;
  trainLoss: number | null;
  valLoss: number | null;
}

/** Columns of the CSV, in order (the JSON lines carry the same keys). */
export const EXPORT_COLUMNS: readonly (keyof ExportRow)[] = [
  'step',
  'loss',
  'lr',
  'gradNorm',
  'tokensPerSecond',
  'stepMs',
  'computeMs',
  'commMs',
  'bytesSent',
  'tokens',
  'elapsedSeconds',
  'trainLoss',
  'valLoss',
];

/**
 * The rows of a run's steps. A metric's `step` is the 0-based index of the step taken while an
 * evaluation's is the number of steps applied, so evaluation `s` belongs to metric `s - 1`.
 */
export function exportRows(metrics: readonly StepMetrics[], evals: readonly EvalRecord[]): ExportRow[] {
  const evalAfter = new Map(evals.map((e) => [e.step - 1, e]));
  let tokens = 0;
  let ms = 0;
  let timed = true;
  return metrics.map((m) => {
    const stepTokens = m.tokensPerSecond !== undefined && m.stepMs !== undefined;
    timed = timed && stepTokens;
    if (stepTokens) {
      tokens += ((m.tokensPerSecond ?? 0) * (m.stepMs ?? 0)) / 1000;
      ms += m.stepMs ?? 0;
    }
    const e = evalAfter.get(m.step);
    return {
      step: m.step,
      loss: m.loss,
      lr: m.lr ?? null,
      gradNorm: m.gradNorm ?? null,
      tokensPerSecond: m.tokensPerSecond ?? null,
      stepMs: m.stepMs ?? null,
      computeMs: m.computeMs ?? null,
      commMs: m.commMs ?? null,
      bytesSent: m.bytesSent ?? null,
      // once a step lacks its timing, later sums would be wrong: leave them out
      tokens: timed ? Math.round(tokens) : null,
      elapsedSeconds: timed ? ms / 1000 : null,
      trainLoss: e?.trainLoss ?? null,
      valLoss: e?.valLoss ?? null,
    };
  });
}

/** The rows as CSV: a header line, then one line per step (empty cells for null). */
export function toCsv(rows: readonly ExportRow[]): string {
  const lines = [EXPORT_COLUMNS.join(',')];
  for (const row of rows)
    lines.push(EXPORT_COLUMNS.map((c) => (row[c] === null ? '' : String(row[c]))).join(','));
  return `${lines.join('\n')}\n`;
}

/** The rows as JSON lines: one object per step. */
export function toJsonLines(rows: readonly ExportRow[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
}
