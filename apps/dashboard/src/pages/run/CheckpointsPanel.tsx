/** The run's checkpoints: step, size, time, whether complete; links to generate from each, downloads. */
import { useState, type ReactElement } from 'react';
import type { CheckpointInfo } from '../../api/types';
import { useServices } from '../../app/context';
import { ErrorNotice } from '../../components/ErrorNotice';
import { saveFile } from '../../lib/download';
import { formatAgo, formatBytes } from '../../lib/format';
import { href } from '../../lib/routes';

/** Props of {@link CheckpointsPanel}. */
export interface CheckpointsPanelProps {
  runId: string;
  checkpoints: readonly CheckpointInfo[] | undefined;
}

/** A table of checkpoints, newest first. */
export function CheckpointsPanel({ runId, checkpoints }: CheckpointsPanelProps): ReactElement {
  if (checkpoints === undefined) return <p>Loading checkpoints…</p>;
  if (checkpoints.length === 0) return <p className="empty">No checkpoints yet.</p>;
  const rows = checkpoints.slice().reverse();
  return (
    <table className="table" data-testid="checkpoints">
      <thead>
        <tr>
          <th>Checkpoint</th>
          <th>Step</th>
          <th>Size</th>
          <th>Written</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((c) => {
          const time = c.createdAt ?? c.modifiedAt;
          return (
            <tr key={c.name}>
              <td>
                {c.name}
                {c.latest && <span className="badge">latest</span>}
                {!c.complete && <span className="badge status-failed">incomplete</span>}
              </td>
              <td>{c.step ?? '—'}</td>
              <td>{formatBytes(c.sizeBytes)}</td>
              <td title={time}>{formatAgo(time)}</td>
              <td>
                {c.complete && (
                  <>
                    <a href={href({ page: 'generate', checkpoint: `${runId}/${c.name}` })}>Generate</a>{' '}
                    <Download runId={runId} checkpoint={c.name} />
                  </>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The files a checkpoint is loaded from (config and weights), as downloads. */
const DOWNLOADS: readonly [string, string][] = [
  ['model.safetensors', 'weights'],
  ['config.json', 'config'],
];

function Download({ runId, checkpoint }: { runId: string; checkpoint: string }): ReactElement {
  const { api } = useServices();
  const [error, setError] = useState<Error>();
  const get = async (file: string): Promise<void> => {
    setError(undefined);
    try {
      saveFile(await api.checkpointFile(runId, checkpoint, file), `${runId}-${checkpoint}-${file}`);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <span className="downloads">
      {DOWNLOADS.map(([file, label]) => (
        <button
          key={file}
          className="link download"
          onClick={() => void get(file)}
          title={`download ${file}`}
        >
          {label}
        </button>
      ))}
      <ErrorNotice error={error} />
    </span>
  );
}
