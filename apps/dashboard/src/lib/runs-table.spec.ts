import type { Run } from '../api/types';
import { allTags, filterRuns, parseTags, sortRuns, toggleSort } from './runs-table';

function run(id: string, extra: Partial<Run> = {}): Run {
  return {
    id,
    status: 'completed',
    spec: { workers: 1, batchSize: 8, contextLength: 64 } as Run['spec'],
    progress: { step: 10, totalSteps: 10, attempt: 1 },
    checkpointDir: `runs/${id}`,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

const runs = [
  run('a', { bestValLoss: 6.2, finalValLoss: 6.4, tags: ['baseline'], createdAt: '2026-01-01T00:00:00Z' }),
  run('b', { bestValLoss: null, status: 'running', name: 'Sweep lr', createdAt: '2026-01-03T00:00:00Z' }),
  run('c', { bestValLoss: 5.9, finalValLoss: 5.9, tags: ['sweep', 'baseline'], archived: true, notes: 'Bigger batch', createdAt: '2026-01-02T00:00:00Z' }), // prettier-ignore
];
const ids = (list: Run[]): string[] => list.map((r) => r.id);

describe('runs table', () => {
  it('sorts by a column either way, runs without a value last in both', () => {
    expect(ids(sortRuns(runs, { key: 'bestValLoss', descending: false }))).toEqual(['c', 'a', 'b']);
    expect(ids(sortRuns(runs, { key: 'bestValLoss', descending: true }))).toEqual(['a', 'c', 'b']);
    expect(ids(sortRuns(runs, { key: 'created', descending: true }))).toEqual(['b', 'c', 'a']);
    expect(ids(sortRuns(runs, { key: 'name', descending: false }))).toEqual(['a', 'c', 'b']);
  });

  it('toggles the direction on the same column and starts losses best first', () => {
    expect(toggleSort({ key: 'created', descending: true }, 'created')).toEqual({
      key: 'created',
      descending: false,
    });
    expect(toggleSort({ key: 'created', descending: true }, 'finalValLoss')).toEqual({ key: 'finalValLoss', descending: false }); // prettier-ignore
    expect(toggleSort({ key: 'created', descending: true }, 'duration')).toEqual({
      key: 'duration',
      descending: true,
    });
  });

  it('hides archived runs unless asked, and filters by status, tag and words of id, name, tags, notes', () => {
    const base = { query: '', showArchived: false };
    expect(ids(filterRuns(runs, base))).toEqual(['a', 'b']);
    expect(ids(filterRuns(runs, { ...base, showArchived: true }))).toEqual(['a', 'b', 'c']);
    expect(ids(filterRuns(runs, { ...base, status: 'running' }))).toEqual(['b']);
    expect(ids(filterRuns(runs, { ...base, showArchived: true, tag: 'baseline' }))).toEqual(['a', 'c']);
    expect(ids(filterRuns(runs, { ...base, query: 'sweep' }))).toEqual(['b']);
    expect(ids(filterRuns(runs, { query: 'bigger BATCH', showArchived: true }))).toEqual(['c']);
  });

  it('collects tags and parses typed ones', () => {
    expect(allTags(runs)).toEqual(['baseline', 'sweep']);
    expect(parseTags(' a, b  c,,a ')).toEqual(['a', 'b', 'c']);
  });
});
