/**
 * What the user says about a run — tags and notes — with archive, delete (finished runs; the
 * checkpoints stay unless ticked) and the metrics export (CSV, JSON lines) as downloads.
 */
import { useState, type ReactElement } from 'react';
import type { Run } from '../../api/types';
import { useServices } from '../../app/context';
import { ErrorNotice } from '../../components/ErrorNotice';
import { saveFile } from '../../lib/download';
import { href } from '../../lib/routes';
import { parseTags } from '../../lib/runs-table';

/** Props of {@link AnnotationsPanel}. */
export interface AnnotationsPanelProps {
  run: Run;
  /** Called with the run after a change the coordinator accepted. */
  onChanged: (run: Run) => void;
}

/** The panel. */
export function AnnotationsPanel({ run, onChanged }: AnnotationsPanelProps): ReactElement {
  const { api } = useServices();
  const [tags, setTags] = useState((run.tags ?? []).join(', '));
  const [notes, setNotes] = useState(run.notes ?? '');
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const finished = ['completed', 'failed', 'cancelled'].includes(run.status);

  const call = async (action: () => Promise<void>): Promise<void> => {
    setError(undefined);
    setSaved(false);
    try {
      await action();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const save = (): Promise<void> =>
    call(async () => {
      onChanged(await api.annotateRun(run.id, { tags: parseTags(tags), notes }));
      setSaved(true);
    });
  const archive = (): Promise<void> =>
    call(async () => onChanged(await api.annotateRun(run.id, { archived: !run.archived })));
  const remove = (files: boolean): Promise<void> =>
    call(async () => {
      const what = files ? 'its record and its checkpoint directory' : 'its record (the checkpoints stay)';
      if (!window.confirm(`Delete run ${run.id}: ${what}?`)) return;
      await api.deleteRun(run.id, files);
      window.location.hash = href({ page: 'runs' });
    });
  const download = (format: 'csv' | 'jsonl'): Promise<void> =>
    call(async () => saveFile(await api.exportMetrics(run.id, format), `${run.id}-metrics.${format}`));

  return (
    <section className="annotations" data-testid="annotations">
      <h2>Notes</h2>
      <ErrorNotice error={error} />
      <label>
        Tags{' '}
        <input
          name="tags"
          value={tags}
          placeholder="baseline, lr-sweep"
          onChange={(e) => setTags(e.target.value)}
        />
      </label>
      <textarea
        name="notes"
        rows={3}
        value={notes}
        placeholder="what this run tries"
        onChange={(e) => setNotes(e.target.value)}
      />
      <div className="actions">
        <button onClick={() => void save()}>Save notes</button>
        {saved && <span className="muted small">saved</span>}
        <button onClick={() => void archive()}>{run.archived ? 'Unarchive' : 'Archive'}</button>
        <button onClick={() => void download('csv')}>Export CSV</button>
        <button onClick={() => void download('jsonl')}>Export JSON lines</button>
        {finished && (
          <>
            <button className="danger" onClick={() => void remove(false)}>
              Delete run
            </button>
            <button className="danger" onClick={() => void remove(true)}>
              Delete run and checkpoints
            </button>
          </>
        )}
      </div>
    </section>
  );
}
