/**
 * The runs list as a table an experiment tracker would show: sorting by any column, free-text search,
 * filters by status and tag, and archived runs hidden unless asked for. Pure functions over the runs
 * of `GET /runs`, so the page only keeps the choices.
 */
import type { Run, RunStatus } from '../api/types';
import { tokensSeen } from './metrics';

/** Columns the list sorts by. */
export const SORT_KEYS = [
  'created',
  'name',
  'status',
  'bestValLoss',
  'finalValLoss',
  'tokens',
  'tokensPerSecond',
  'duration',
  'workers',
  'tags',
] as const;
/** A sortable column. */
export type SortKey = (typeof SORT_KEYS)[number];

/** Sort column and direction. */
export interface RunSort {
  key: SortKey;
  descending: boolean;
}

/** What the list shows. */
export interface RunFilter {
  /** Matched (case-insensitively) against id, name, tags and notes. */
  query: string;
  /** Only runs of this status (undefined: all). */
  status?: RunStatus;
  /** Only runs with this tag (undefined: all). */
  tag?: string;
  /** Archived runs too. */
  showArchived: boolean;
}

/** The value a run sorts by in column `key` (undefined: no value, sorted last either way). */
function sortValue(run: Run, key: SortKey): number | string | undefined {
  switch (key) {
    case 'created':
      return run.createdAt;
    case 'name':
      return (run.name ?? run.id).toLowerCase();
    case 'status':
      return run.status;
    case 'bestValLoss':
      return run.bestValLoss ?? undefined;
    case 'finalValLoss':
      return run.finalValLoss ?? undefined;
    case 'tokens':
      return tokensSeen(run);
    case 'tokensPerSecond':
      return run.tokensPerSecond ?? undefined;
    case 'duration':
      return run.durationSeconds ?? undefined;
    case 'workers':
      return run.members?.length ?? run.spec.workers;
    case 'tags':
      return run.tags && run.tags.length > 0 ? run.tags.join(',') : undefined;
  }
}

/** The runs sorted by `sort`; runs without a value go last in both directions. Returns a new array. */
export function sortRuns(runs: readonly Run[], sort: RunSort): Run[] {
  const sign = sort.descending ? -1 : 1;
  return runs.slice().sort((a, b) => {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    return sign * (x < y ? -1 : x > y ? 1 : 0);
  });
}

/** The runs that pass `filter`, in their order. */
export function filterRuns(runs: readonly Run[], filter: RunFilter): Run[] {
  const words = filter.query.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((run) => {
    if (!filter.showArchived && run.archived) return false;
    if (filter.status !== undefined && run.status !== filter.status) return false;
    if (filter.tag !== undefined && !(run.tags ?? []).includes(filter.tag)) return false;
    const text = [run.id, run.name ?? '', ...(run.tags ?? []), run.notes ?? ''].join(' ').toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** The sort after a click on column `key`: the other direction on the same column, else a fresh one. */
export function toggleSort(current: RunSort, key: SortKey): RunSort {
  if (current.key === key) return { key, descending: !current.descending };
  // losses read best first (ascending); everything else biggest or newest first
  return { key, descending: !(key === 'bestValLoss' || key === 'finalValLoss' || key === 'name') };
}

/** Every tag of the runs, sorted. */
export function allTags(runs: readonly Run[]): string[] {
  return [...new Set(runs.flatMap((r) => r.tags ?? []))].sort();
}

/** Tags typed as `a, b c`: split at commas and spaces, empty ones dropped, duplicates once. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}
