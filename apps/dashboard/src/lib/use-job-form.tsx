/**
 * The state and submission of a form that creates a training job (a run, a finetune): its fields,
 * the errors of the last check, a failure of the request, the busy flag, and a text input bound to
 * a field. One hook for both forms, so they check, submit and report alike.
 */
import { useState, type Dispatch, type FormEvent, type ReactElement, type SetStateAction } from 'react';
import { Field } from '../components/Field';
import type { FormResult } from './form-fields';
import { href, type Route } from './routes';

/** What a job form needs: how to check its fields, create the job, and which page opens after. */
export interface JobFormOptions<F, R> {
  initial: F | (() => F);
  build(fields: F): FormResult<R>;
  create(request: R): Promise<{ id: string }>;
  page: Extract<Route, { id: string }>['page'];
}

/** A job form's state and handlers. */
export interface JobForm<F> {
  fields: F;
  setFields: Dispatch<SetStateAction<F>>;
  errors: Record<string, string>;
  failure?: Error;
  busy: boolean;
  submit(e: FormEvent): Promise<void>;
  /** A labelled text input for the string field `key`. */
  text(key: keyof F & string, label: string, hint?: string): ReactElement;
}

/** Holds a job form; on a successful submission it opens the new job's page. */
export function useJobForm<F extends object, R>(options: JobFormOptions<F, R>): JobForm<F> {
  const [fields, setFields] = useState<F>(options.initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const result = options.build(fields);
    setErrors(result.ok ? {} : result.errors);
    if (!result.ok) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const job = await options.create(result.value);
      window.location.hash = href({ page: options.page, id: job.id } as Route);
    } catch (err) {
      setFailure(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const text = (key: keyof F & string, label: string, hint?: string): ReactElement => (
    <Field label={label} error={errors[key]} hint={hint}>
      <input
        name={key}
        value={String(fields[key])}
        onChange={(e) => setFields((f) => ({ ...f, [key]: e.target.value }))}
      />
    </Field>
  );

  return { fields, setFields, errors, failure, busy, submit, text };
}
