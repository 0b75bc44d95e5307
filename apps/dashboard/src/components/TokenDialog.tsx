/** Asks for the API token (once; it is kept in localStorage until the coordinator rejects it). */
import { useState, type FormEvent, type ReactElement } from 'react';

/** Props of {@link TokenDialog}. */
export interface TokenDialogProps {
  /** Why we are asking (e.g. the previous token was rejected). */
  reason?: string;
  onSubmit: (token: string) => void;
}

/** A small form with a password field. */
export function TokenDialog({ reason, onSubmit }: TokenDialogProps): ReactElement {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (value.trim() !== '') onSubmit(value);
  };
  return (
    <form className="token-dialog card" onSubmit={submit} data-testid="token-dialog">
      <h2>Connect to the coordinator</h2>
      <p>
        Paste the coordinator&apos;s API token (the value of <code>FORGE_API_TOKEN</code>). It is kept in this
        browser only.
      </p>
      {reason && (
        <p className="error" role="alert">
          {reason}
        </p>
      )}
      <input
        type="password"
        name="token"
        autoComplete="off"
        autoFocus
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="API token"
      />
      <button type="submit" disabled={value.trim() === ''}>
        Connect
      </button>
    </form>
  );
}
