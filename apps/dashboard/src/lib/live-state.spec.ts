import { upsertById } from './live-state';

describe('upsertById', () => {
  const list: { id: string; createdAt?: string; v: number }[] = [
    { id: 'c', createdAt: '2026-01-03T00:00:00Z', v: 1 },
    { id: 'a', createdAt: '2026-01-01T00:00:00Z', v: 1 },
  ];

  it('replaces an item in place', () => {
    expect(
      upsertById(list, { id: 'a', createdAt: '2026-01-01T00:00:00Z', v: 2 }).map((x) => [x.id, x.v]),
    ).toEqual([
      ['c', 1],
      ['a', 2],
    ]);
  });

  it('inserts newest first and leaves the input alone', () => {
    const out = upsertById(list, { id: 'b', createdAt: '2026-01-02T00:00:00Z', v: 1 });
    expect(out.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(upsertById(list, { id: 'z', createdAt: '2025-01-01T00:00:00Z', v: 1 }).map((x) => x.id)).toEqual([
      'c',
      'a',
      'z',
    ]);
    expect(upsertById(list, { id: 'n', v: 1 }).map((x) => x.id)).toEqual(['n', 'c', 'a']);
    expect(list.map((x) => x.id)).toEqual(['c', 'a']);
  });
});
