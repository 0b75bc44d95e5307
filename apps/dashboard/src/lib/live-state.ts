/** Folding live events (`event: run`, `event: finetune`) into the lists and records the pages show. */
import type { Finetune, FinetuneDetail, FinetuneEvent } from '../api/types';

/** Anything with an id and, optionally, a creation time. */
export interface Identified {
  id: string;
  createdAt?: string;
}

/**
 * Replaces the item with the same id, or inserts a new one keeping newest-first order (by createdAt;
 * items without one go first, as the freshest). Returns a new array.
 */
export function upsertById<T extends Identified>(list: readonly T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i !== -1) {
    const out = list.slice();
    out[i] = item;
    return out;
  }
  const t = created(item);
  const at = list.findIndex((x) => created(x) <= t);
  const out = list.slice();
  out.splice(at === -1 ? out.length : at, 0, item);
  return out;
}

function created(x: Identified): number {
  const t = x.createdAt === undefined ? NaN : Date.parse(x.createdAt);
  return Number.isFinite(t) ? t : Infinity;
}

/**
 * A finetune page's job after `event`: the record replaced, the curves and evaluation replaced when
 * the event carries them (progress, completion) and kept otherwise. Another job's event changes nothing.
 */
export function applyFinetuneEvent(
  detail: FinetuneDetail | undefined,
  event: FinetuneEvent,
): FinetuneDetail | undefined {
  if (!detail || detail.id !== event.id) return detail;
  return {
    ...detail,
    ...event,
    metrics: event.metrics ?? detail.metrics,
    evaluation: event.evaluation ?? detail.evaluation,
  };
}

/** The list row of a finetune event: the record without the history it may carry. */
export function finetuneRow(event: FinetuneEvent): Finetune {
  const row: FinetuneEvent = { ...event };
  delete row.metrics;
  delete row.evaluation;
  return row;
}
