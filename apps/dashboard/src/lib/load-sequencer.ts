/**
 * Orders fetched data and live updates. A fetch answers with the state of when the server read it;
 * a live event that lands while the fetch is in flight may be newer than that answer. Writing the
 * answer over it would drop the event until the next poll (seconds later): a run created while the
 * runs page loads would not show. So updates made during the newest fetch are replayed on top of
 * its answer. Replaying one the answer already holds is harmless: the pages' updates are idempotent
 * (upsert by id, merge by step).
 */

/** A new value, or a function of the previous one (React's SetStateAction). */
export type Update<T> = T | ((previous: T) => T);

/** Applies `update` to `previous`. */
export function applyUpdate<T>(previous: T, update: Update<T>): T {
  return typeof update === 'function' ? (update as (p: T) => T)(previous) : update;
}

/** Tracks the newest fetch and the updates made while it is in flight. */
export class LoadSequencer<T> {
  private newest = 0;
  /** Updates made since the newest fetch started; undefined while none is in flight. */
  private sinceNewest?: Update<T>[];

  /** A fetch starts; returns its ticket. Updates made before now are in its answer. */
  start(): number {
    this.sinceNewest = [];
    return ++this.newest;
  }

  /** Notes an update made now (call it with every update applied while data is shown). */
  record(update: Update<T>): void {
    this.sinceNewest?.push(update);
  }

  /**
   * The fetch `ticket` answered `value`: returns the data to show (the answer with the updates
   * made since it started replayed on top), or undefined when a newer fetch has started since, so
   * its answer wins instead.
   */
  settle(ticket: number, value: T): { data: T } | undefined {
    if (ticket !== this.newest) return undefined;
    const data = (this.sinceNewest ?? []).reduce<T>((acc, update) => applyUpdate(acc, update), value);
    this.sinceNewest = undefined;
    return { data };
  }

  /** Whether `ticket` is the newest fetch (for its error); if so, it ends. */
  fail(ticket: number): boolean {
    if (ticket !== this.newest) return false;
    this.sinceNewest = undefined;
    return true;
  }
}
