/** An error message, with the coordinator's field issues listed when it sent some. */
import type { ReactElement } from 'react';
import { ApiError } from '../api/client';

/** Shows `error` (nothing when undefined). */
export function ErrorNotice({ error }: { error: Error | undefined }): ReactElement | null {
  if (!error) return null;
  const issues = error instanceof ApiError ? error.issues : [];
  return (
    <div className="error" role="alert">
      {error.message}
      {issues.length > 0 && (
        <ul>
          {issues.map((i) => (
            <li key={i.field}>
              <code>{i.field}</code>: {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
