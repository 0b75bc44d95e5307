/**
 * What a finetune page says about a job besides its curves: the pretraining run it started from (a
 * link, when the base checkpoint is one of a run's), how long it took, and its hyperparameters.
 */
import type { Finetune } from '../api/types';
import { flattenSpec } from './compare';

/** Run ids as the coordinator makes them (`run-` and a UUID). */
const RUN_ID = /(?:^|\/)(run-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\/|$)/;

/**
 * The id of the run whose checkpoint the job starts from: `run-…/step-000200`, `run-…/latest`, or a
 * run's checkpoint directory (`<runs dir>/run-…/step-000200`); undefined for any other base.
 */
export function baseRunId(job: Pick<Finetune, 'baseCheckpoint' | 'spec'>): string | undefined {
  for (const ref of [job.baseCheckpoint, job.spec?.baseCheckpoint]) {
    const match = typeof ref === 'string' ? RUN_ID.exec(ref) : null;
    if (match) return match[1];
  }
  return undefined;
}

/** Seconds from creation to the end (a finished job's last update) or to `now`; undefined without times. */
export function finetuneSeconds(
  job: Pick<Finetune, 'status' | 'createdAt' | 'updatedAt'>,
  now: number = Date.now(),
): number | undefined {
  const start = Date.parse(job.createdAt ?? '');
  const finished = job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';
  const end = finished ? Date.parse(job.updatedAt ?? '') : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : undefined;
}

/** The job's spec as dotted keys (`hyperparameters.lr`), minus what the page shows elsewhere. */
export function finetuneParams(job: Pick<Finetune, 'spec'>): [string, string][] {
  const shown = new Set(['kind', 'name', 'dataset', 'baseCheckpoint']);
  return Object.entries(flattenSpec(job.spec ?? {})).filter(([key]) => !shown.has(key));
}
