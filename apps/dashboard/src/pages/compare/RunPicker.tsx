/** The runs to compare: a tick box per run (archived ones only when already chosen). */
import type { ReactElement } from 'react';
import type { Run } from '../../api/types';
import { RUN_COLOURS } from '../../lib/compare';

/** Props of {@link RunPicker}. */
export interface RunPickerProps {
  runs: readonly Run[];
  chosen: readonly string[];
  onChange: (ids: string[]) => void;
}

/** A row of tick boxes, one per run, coloured like the run's lines once chosen. */
export function RunPicker({ runs, chosen, onChange }: RunPickerProps): ReactElement {
  const offered = runs.filter((r) => !r.archived || chosen.includes(r.id));
  const toggle = (id: string): void =>
    onChange(chosen.includes(id) ? chosen.filter((c) => c !== id) : [...chosen, id]);
  return (
    <fieldset className="run-picker" data-testid="run-picker">
      <legend>Runs</legend>
      {offered.map((r) => {
        const i = chosen.indexOf(r.id);
        return (
          <label key={r.id} className="pick">
            <input
              type="checkbox"
              name="compare-run"
              value={r.id}
              checked={i !== -1}
              onChange={() => toggle(r.id)}
            />
            {i !== -1 && (
              <span className="swatch" style={{ background: RUN_COLOURS[i % RUN_COLOURS.length] }} />
            )}
            {r.name ?? r.id}
          </label>
        );
      })}
    </fieldset>
  );
}
