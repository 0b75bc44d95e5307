/**
 * The experiment-tracking side of runs: the list with derived figures and annotations, tags / notes /
 * archive, deleting a finished run, and exporting its metrics. Reads runs through {@link RunsService}
 * (never the repository), so it stays apart from the engine that drives them.
 */
import { Injectable } from '@nestjs/common';
import { promises as fs } from 'fs';
import * as path from 'path';
import { CheckpointNotFoundError, InvalidTransitionError, RequestValidationError } from '../common/errors';
import { listCheckpoints } from './checkpoints';
import { exportRows, toCsv, toJsonLines, type ExportFormat } from './metrics-export';
import { RunAnnotations, type AnnotationPatch, type RunAnnotation } from './run-annotations';
import { isTerminal } from './run-state';
import { etaSeconds, runFigures, THROUGHPUT_WINDOW, type RunFigures, type RunSummary } from './run-summary';
import type { RunWithMetrics } from './run.model';
import { MAX_METRICS, RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';

/** What `DELETE /runs/:id` did. */
export interface DeletedRun {
  id: string;
  deleted: true;
  /** The checkpoint directory that was removed, when files were asked to go too. */
  removedDir?: string;
}

/** A file of a checkpoint, to stream. */
export interface CheckpointFile {
  path: string;
  sizeBytes: number;
  /** What a browser saves it as: `<runId>-<checkpoint>-<file>`. */
  downloadName: string;
}

/** Names a checkpoint file may have (no separators, so nothing outside the checkpoint is reachable). */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A run's metrics as a file. */
export interface MetricsFile {
  contentType: string;
  fileName: string;
  body: string;
}

/** Lists, annotates, deletes and exports runs. */
@Injectable()
export class RunCatalog {
  constructor(
    private readonly runs: RunsService,
    private readonly annotations: RunAnnotations,
    private readonly repository: RunsRepository,
  ) {}

  /**
   * Every run, newest first, with its figures, annotations and (running ones) ETA, as `GET /runs/:id`
   * has it; archived runs too (clients filter).
   */
  async list(): Promise<(RunSummary & { etaSeconds?: number })[]> {
    const [runs, notes] = await Promise.all([this.runs.list(), this.annotations.all()]);
    return Promise.all(
      runs.map(async (run) => {
        const { evals, metrics } = await this.runs.history(run.id, THROUGHPUT_WINDOW);
        const eta = etaSeconds(run, metrics);
        return {
          ...run,
          ...runFigures(run, evals, metrics),
          ...annotationOf(notes, run.id),
          ...(eta !== undefined ? { etaSeconds: eta } : {}),
        };
      }),
    );
  }

  /** One run as `GET /runs/:id` returns it, with its figures and annotation. */
  async get(id: string): Promise<RunWithMetrics & RunFigures & RunAnnotation> {
    const run = await this.runs.get(id);
    const annotation = await this.annotations.get(id);
    return { ...run, ...runFigures(run, run.evals, run.metrics), ...annotation };
  }

  /** Changes a run's tags, notes or archived flag; returns the run as the list shows it. */
  async annotate(id: string, patch: AnnotationPatch): Promise<RunSummary> {
    const { run, evals, metrics } = await this.runs.history(id, THROUGHPUT_WINDOW);
    const annotation = await this.annotations.update(id, patch);
    return { ...run, ...runFigures(run, evals, metrics), ...annotation };
  }

  /**
   * Deletes a finished run's record (409 while it can still change). Its checkpoint directory is
   * removed only when `removeFiles` is set: checkpoints are the expensive part, and a record is cheap
   * to lose by comparison.
   */
  async delete(id: string, removeFiles: boolean): Promise<DeletedRun> {
    const { run } = await this.runs.history(id, 0);
    if (!isTerminal(run.status)) {
      throw new InvalidTransitionError(id, 'delete', run.status, ['completed', 'failed', 'cancelled']);
    }
    const dir = removeFiles ? removableDir(run.checkpointDir) : undefined;
    await this.repository.remove(id);
    await this.annotations.remove(id);
    if (dir === undefined) return { id, deleted: true };
    await fs.rm(dir, { recursive: true, force: true });
    return { id, deleted: true, removedDir: dir };
  }

  /**
   * A file directly inside one of the run's checkpoints (`model.safetensors`, `config.json`, …), for
   * download; {@link CheckpointNotFoundError} for a checkpoint the run does not list or a file it lacks.
   */
  async checkpointFile(id: string, checkpoint: string, file: string): Promise<CheckpointFile> {
    const { run } = await this.runs.history(id, 0);
    const found = (await listCheckpoints(run.checkpointDir)).find((c) => c.name === checkpoint);
    if (!found || !FILE_NAME.test(file)) throw new CheckpointNotFoundError(id, checkpoint, run.checkpointDir);
    const filePath = path.join(found.path, file);
    const stat = await fs.stat(filePath).catch(() => undefined);
    if (!stat?.isFile()) throw new CheckpointNotFoundError(id, `${checkpoint}/${file}`, run.checkpointDir);
    return { path: filePath, sizeBytes: stat.size, downloadName: `${id}-${checkpoint}-${file}` };
  }

  /** The run's step metrics (all that are kept) as CSV or JSON lines. */
  async exportMetrics(id: string, format: ExportFormat): Promise<MetricsFile> {
    const { evals, metrics } = await this.runs.history(id, MAX_METRICS);
    const rows = exportRows(metrics, evals);
    return format === 'csv'
      ? { contentType: 'text/csv; charset=utf-8', fileName: `${id}-metrics.csv`, body: toCsv(rows) }
      : {
          contentType: 'application/x-ndjson; charset=utf-8',
          fileName: `${id}-metrics.jsonl`,
          body: toJsonLines(rows),
        };
  }
}

function annotationOf(all: Map<string, RunAnnotation>, id: string): RunAnnotation {
  return all.get(id) ?? { tags: [], notes: '', archived: false };
}

/** The directory to remove; refuses a filesystem root (a run whose `out` was `/` must not wipe it). */
function removableDir(dir: string): string {
  const resolved = path.resolve(dir);
  if (path.dirname(resolved) === resolved) {
    throw new RequestValidationError([
      { field: 'files', message: `refusing to remove ${resolved}: it is a filesystem root` },
    ]);
  }
  return resolved;
}
