/** The hyperparameters that differ between the compared runs, one column per run. */
import type { ReactElement } from 'react';
import type { RunDetail } from '../../api/types';
import { differingParams, RUN_COLOURS } from '../../lib/compare';
import { formatNumber } from '../../lib/format';

/** The table, or a note that the specs are the same. */
export function ParamDiff({ runs }: { runs: readonly RunDetail[] }): ReactElement {
  const rows = differingParams(runs.map((r) => r.spec));
  return (
    <section data-testid="param-diff">
      <h2>Hyperparameters that differ</h2>
      {rows.length === 0 ? (
        <p className="empty">The runs have the same hyperparameters.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Parameter</th>
              {runs.map((r, i) => (
                <th key={r.id}>
                  <span className="swatch" style={{ background: RUN_COLOURS[i % RUN_COLOURS.length] }} />
                  {r.name ?? r.id}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key} data-param={row.key}>
                <td>
                  <code>{row.key}</code>
                </td>
                {row.values.map((v, i) => (
                  <td key={runs[i].id}>{v}</td>
                ))}
              </tr>
            ))}
            <tr data-param="bestValLoss">
              <td>best validation loss</td>
              {runs.map((r) => (
                <td key={r.id}>{formatNumber(r.bestValLoss ?? undefined)}</td>
              ))}
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
