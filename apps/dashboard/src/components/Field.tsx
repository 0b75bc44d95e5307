/** A labelled form control with its validation message. */
import type { ReactElement, ReactNode } from 'react';

/** Props of {@link Field}. */
export interface FieldProps {
  label: string;
  error?: string;
  hint?: string;
  children: ReactNode;
}

/** Label, control, and an error (or hint) under it. */
export function Field({ label, error, hint, children }: FieldProps): ReactElement {
  return (
    <label className={error ? 'field field-invalid' : 'field'}>
      <span className="field-label">{label}</span>
      {children}
      {error ? (
        <span className="field-error">{error}</span>
      ) : (
        hint && <span className="field-hint">{hint}</span>
      )}
    </label>
  );
}
