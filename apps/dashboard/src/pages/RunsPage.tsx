/**
 * All runs as an experiment tracker lists them: sortable columns (status, best and final validation
 * loss, tokens, tokens/s, duration, workers, tags), search, filters by status and tag, archived runs
 * on request, and a selection to compare. Live updates from `event: run`.
 */
import { useCallback, useMemo, useState, type ReactElement } from 'react';
import { RUN_STATUSES, type Run, type RunStatus } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLiveEvents } from '../hooks/useLiveState';
import { useResource } from '../hooks/useResource';
import { compareQuery } from '../lib/compare';
import { upsertById } from '../lib/live-state';
import { href } from '../lib/routes';
import { allTags, filterRuns, sortRuns, toggleSort, type RunFilter, type RunSort } from '../lib/runs-table';
import { RunsTable } from './runs/RunsTable';

/** The runs page. */
export function RunsPage(): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => api.listRuns(), [api]);
  const runs = useResource<Run[]>(load);
  // An event carries the bare run record: keep the figures and annotations the list had.
  useLiveEvents({
    run: (run) =>
      runs.setData((list) => {
        if (!list) return list;
        const before = list.find((r) => r.id === run.id);
        return upsertById(list, before ? { ...before, ...run } : run);
      }),
  });
  const [sort, setSort] = useState<RunSort>({ key: 'created', descending: true });
  const [filter, setFilter] = useState<RunFilter>({ query: '', showArchived: false });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const all = runs.data;
  const shown = useMemo(() => (all ? sortRuns(filterRuns(all, filter), sort) : []), [all, filter, sort]);
  const toggle = (id: string): void =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const chosen = [...selected].filter((id) => all?.some((r) => r.id === id));

  return (
    <section>
      <header className="page-header">
        <h1>Runs</h1>
        <a
          className={`button${chosen.length < 2 ? ' disabled' : ''}`}
          data-testid="compare-link"
          aria-disabled={chosen.length < 2}
          href={href({ page: 'compare', query: compareQuery({ runs: chosen, x: 'step', smoothing: 0 }) })}
          title={chosen.length < 2 ? 'tick two runs or more to compare them' : undefined}
        >
          Compare{chosen.length > 0 ? ` (${chosen.length})` : ''}
        </a>
        <a className="button" href={href({ page: 'new-run' })}>
          New run
        </a>
      </header>
      <ErrorNotice error={runs.error} />
      {all === undefined ? (
        !runs.error && <p>Loading…</p>
      ) : all.length === 0 ? (
        <p className="empty">No runs yet. Start one with “New run” or `forge submit pretrain`.</p>
      ) : (
        <>
          <RunFilters filter={filter} tags={allTags(all)} onChange={setFilter} />
          <RunsTable
            runs={shown}
            sort={sort}
            onSort={(key) => setSort((s) => toggleSort(s, key))}
            selected={selected}
            onToggle={toggle}
          />
          {shown.length === 0 && <p className="empty">No run matches.</p>}
        </>
      )}
    </section>
  );
}

function RunFilters(props: {
  filter: RunFilter;
  tags: string[];
  onChange: (f: RunFilter) => void;
}): ReactElement {
  const { filter, tags, onChange } = props;
  return (
    <div className="filters" data-testid="run-filters">
      <input
        type="search"
        name="search"
        placeholder="search id, name, tags, notes"
        value={filter.query}
        onChange={(e) => onChange({ ...filter, query: e.target.value })}
      />
      <select
        name="status"
        aria-label="status"
        value={filter.status ?? ''}
        onChange={(e) =>
          onChange({ ...filter, status: (e.target.value || undefined) as RunStatus | undefined })
        }
      >
        <option value="">any status</option>
        {RUN_STATUSES.map((s) => (
          <option key={s}>{s}</option>
        ))}
      </select>
      <select
        name="tag"
        aria-label="tag"
        value={filter.tag ?? ''}
        onChange={(e) => onChange({ ...filter, tag: e.target.value || undefined })}
      >
        <option value="">any tag</option>
        {tags.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <label className="toggle">
        <input
          type="checkbox"
          name="show-archived"
          checked={filter.showArchived}
          onChange={(e) => onChange({ ...filter, showArchived: e.target.checked })}
        />{' '}
        show archived
      </label>
    </div>
  );
}
