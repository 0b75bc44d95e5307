/** Pause, resume, resume from a chosen checkpoint, and cancel; only the buttons the state allows. */
import { useState, type ReactElement } from 'react';
import type { CheckpointInfo, Run } from '../../api/types';
import { useServices } from '../../app/context';
import { ErrorNotice } from '../../components/ErrorNotice';
import { canDo } from '../../lib/run-actions';

/** Props of {@link RunActions}. */
export interface RunActionsProps {
  run: Run;
  checkpoints: readonly CheckpointInfo[];
  /** Called with the run the coordinator returned after an action. */
  onChanged: (run: Run) => void;
}

/** The action buttons with the coordinator's refusal (409) shown under them. */
export function RunActions({ run, checkpoints, onChanged }: RunActionsProps): ReactElement {
  const { api } = useServices();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [checkpoint, setCheckpoint] = useState('');
  const complete = checkpoints.filter((c) => c.complete);

  const act = async (call: () => Promise<Run>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      onChanged(await call());
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="actions" data-testid="run-actions">
      {canDo('pause', run.status) && (
        <button disabled={busy} onClick={() => void act(() => api.pauseRun(run.id))}>
          Pause
        </button>
      )}
      {canDo('resume', run.status) && (
        <>
          <button disabled={busy} onClick={() => void act(() => api.resumeRun(run.id))}>
            Resume
          </button>
          {complete.length > 0 && (
            <span className="inline">
              <select
                aria-label="checkpoint to resume from"
                name="resume-checkpoint"
                value={checkpoint}
                onChange={(e) => setCheckpoint(e.target.value)}
              >
                <option value="">choose a checkpoint…</option>
                {complete.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                    {c.latest ? ' (latest)' : ''}
                  </option>
                ))}
              </select>
              <button
                disabled={busy || checkpoint === ''}
                onClick={() => void act(() => api.resumeRun(run.id, { checkpoint }))}
              >
                Resume from checkpoint
              </button>
            </span>
          )}
        </>
      )}
      {canDo('cancel', run.status) && (
        <button
          className="danger"
          disabled={busy}
          onClick={() => {
            if (window.confirm(`Cancel run ${run.name ?? run.id}? It cannot be resumed afterwards.`))
              void act(() => api.cancelRun(run.id));
          }}
        >
          Cancel
        </button>
      )}
      <ErrorNotice error={error} />
    </div>
  );
}
