/**
 * Several runs side by side: their train and validation loss, learning rate, gradient norm and
 * throughput overlaid on one x-axis (step, tokens or wall time), optionally smoothed, and the
 * hyperparameters that differ. The whole state lives in the URL (`#/compare?runs=a,b&x=tokens&smooth=0.6`),
 * so a link shows the same comparison.
 */
import { useCallback, useState, type ReactElement } from 'react';
import type { Run, RunDetail } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { useResource } from '../hooks/useResource';
import { compareQuery, parseCompareQuery, X_AXES, type CompareState, type XAxis } from '../lib/compare';
import { href } from '../lib/routes';
import { CompareCharts } from './compare/CompareCharts';
import { ParamDiff } from './compare/ParamDiff';
import { RunPicker } from './compare/RunPicker';

/** The compared runs that loaded, and the ids that did not. */
interface Loaded {
  runs: RunDetail[];
  missing: string[];
}

/** The compare page of the URL query `query`. */
export function ComparePage({ query }: { query: string }): ReactElement {
  const { api } = useServices();
  const [state, setState] = useState<CompareState>(() => parseCompareQuery(query));
  const update = (next: CompareState): void => {
    setState(next);
    // replace, not push: dragging the smoothing slider must not fill the history
    window.history.replaceState(null, '', href({ page: 'compare', query: compareQuery(next) }));
  };

  const key = state.runs.join(',');
  // A run of the link that is gone (deleted) must not hide the others: each is loaded on its own.
  const loadDetails = useCallback(async (): Promise<Loaded> => {
    const ids = key.split(',').filter(Boolean);
    const settled = await Promise.allSettled(ids.map((id) => api.getRun(id)));
    return {
      runs: settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
      missing: ids.filter((_, n) => settled[n].status === 'rejected'),
    };
  }, [api, key]);
  const details = useResource<Loaded>(loadDetails);
  const loadRuns = useCallback(() => api.listRuns(), [api]);
  const runs = useResource<Run[]>(loadRuns, { fastMs: 0, slowMs: 0 });

  return (
    <section data-testid="compare-page">
      <header className="page-header">
        <h1>Compare runs</h1>
        <a href={href({ page: 'runs' })}>All runs</a>
      </header>
      <ErrorNotice error={details.error ?? runs.error} />
      <CompareControls state={state} onChange={update} />
      <RunPicker
        runs={runs.data ?? []}
        chosen={state.runs}
        onChange={(ids) => update({ ...state, runs: ids })}
      />
      {state.runs.length === 0 ? (
        <p className="empty">Choose runs to compare above.</p>
      ) : details.data === undefined ? (
        !details.error && <p>Loading…</p>
      ) : (
        <>
          {details.data.missing.length > 0 && (
            <p className="error" data-testid="compare-missing">
              Not found: {details.data.missing.join(', ')}
            </p>
          )}
          <CompareCharts runs={details.data.runs} x={state.x} smoothing={state.smoothing} />
          <ParamDiff runs={details.data.runs} />
        </>
      )}
    </section>
  );
}

function CompareControls(props: { state: CompareState; onChange: (s: CompareState) => void }): ReactElement {
  const { state, onChange } = props;
  return (
    <div className="filters" data-testid="compare-controls">
      <label>
        x-axis{' '}
        <select
          name="x-axis"
          value={state.x}
          onChange={(e) => onChange({ ...state, x: e.target.value as XAxis })}
        >
          {X_AXES.map((x) => (
            <option key={x} value={x}>
              {x === 'time' ? 'wall time' : x}
            </option>
          ))}
        </select>
      </label>
      <label>
        smoothing{' '}
        <input
          type="range"
          name="smoothing"
          min={0}
          max={0.99}
          step={0.01}
          value={state.smoothing}
          onChange={(e) => onChange({ ...state, smoothing: Number(e.target.value) })}
        />{' '}
        <output data-testid="smoothing-value">{state.smoothing.toFixed(2)}</output>
      </label>
    </div>
  );
}
