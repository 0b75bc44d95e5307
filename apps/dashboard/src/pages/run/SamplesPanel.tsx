/** Sample generations taken during training, newest first, so progress in fluency is visible. */
import type { ReactElement } from 'react';
import type { SamplePoint } from '../../api/types';
import { displaySample } from '../../lib/sample-text';

/** The samples, or a note when the run has none. */
export function SamplesPanel({ samples }: { samples: readonly SamplePoint[] | undefined }): ReactElement {
  if (!samples || samples.length === 0) return <p className="empty">No samples yet.</p>;
  return (
    <ol className="samples" data-testid="samples">
      {samples
        .slice()
        .reverse()
        .map((s) => (
          <li key={s.step}>
            <span className="muted">step {s.step}</span>
            <pre title={s.text}>{displaySample(s.text)}</pre>
          </li>
        ))}
    </ol>
  );
}
