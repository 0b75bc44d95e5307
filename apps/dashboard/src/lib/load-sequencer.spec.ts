import { upsertById } from './live-state';
import { applyUpdate, LoadSequencer } from './load-sequencer';

interface Item {
  id: string;
  createdAt: string;
}
const item = (id: string, minute: number): Item => ({ id, createdAt: `2026-11-29T00:${minute}:00Z` });
const upsert = (x: Item) => (list: Item[] | undefined) => (list ? upsertById(list, x) : list);

describe('LoadSequencer', () => {
  it('replays an event that landed during the fetch on top of its older answer', () => {
    const seq = new LoadSequencer<Item[] | undefined>();
    const ticket = seq.start();
    seq.record(upsert(item('new', 30))); // the page had no list yet: the event alone did nothing
    const settled = seq.settle(ticket, [item('old', 10)]);
    expect(settled?.data?.map((x) => x.id)).toEqual(['new', 'old']);
  });

  it('does not replay updates made before the fetch started, nor after it settled', () => {
    const seq = new LoadSequencer<number[]>();
    const append = (n: number) => (xs: number[]) => [...xs, n];
    seq.record(append(1)); // nothing in flight
    const first = seq.start();
    expect(seq.settle(first, [0])?.data).toEqual([0]);
    seq.record(append(2));
    const second = seq.start();
    seq.record(append(3));
    expect(seq.settle(second, [0, 2])?.data).toEqual([0, 2, 3]);
  });

  it("drops the answer of a fetch overtaken by a newer one, keeping the newer one's updates", () => {
    const seq = new LoadSequencer<number[]>();
    const append = (n: number) => (xs: number[]) => [...xs, n];
    const older = seq.start();
    seq.record(append(1)); // the newer fetch starts after this: its answer holds it
    const newer = seq.start();
    seq.record(append(2));
    expect(seq.settle(older, [0])).toBeUndefined();
    expect(seq.settle(newer, [0, 1])?.data).toEqual([0, 1, 2]);
  });

  it('reports whether a failed fetch was the newest, and forgets its updates', () => {
    const seq = new LoadSequencer<number>();
    const older = seq.start();
    const newer = seq.start();
    expect(seq.fail(older)).toBe(false);
    seq.record((n) => n + 1);
    expect(seq.fail(newer)).toBe(true);
    const next = seq.start();
    expect(seq.settle(next, 10)?.data).toBe(10);
  });

  it('applies plain values and updater functions alike', () => {
    expect(applyUpdate(1, 5)).toBe(5);
    expect(applyUpdate(1, (n: number) => n + 1)).toBe(2);
  });
});
