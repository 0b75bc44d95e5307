/** The form that starts a pretraining run (POST /runs). */
import type { ReactElement } from 'react';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { Field } from '../components/Field';
import { BUILTIN_TEXT } from '@llm-forge/cluster-protocol/browser';
import { buildRunSpec, DEFAULT_RUN_FORM, PRESETS, type RunFormFields } from '../lib/run-form';
import { useJobForm } from '../lib/use-job-form';

/** New-run form; on success it opens the run's page. */
export function NewRunPage(): ReactElement {
  const { api } = useServices();
  const { fields, setFields, failure, busy, submit, text } = useJobForm({
    initial: DEFAULT_RUN_FORM,
    build: buildRunSpec,
    create: (spec) => api.createRun(spec),
    page: 'run',
  });
  const set =
    <K extends keyof RunFormFields>(key: K) =>
    (value: RunFormFields[K]): void =>
      setFields((f) => ({ ...f, [key]: value }));

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} data-testid="new-run-form">
      <h1>New pretraining run</h1>
      {text('name', 'Name', 'optional label')}
      <Field label="Model">
        <select
          name="model"
          value={fields.model}
          onChange={(e) => set('model')(e.target.value as RunFormFields['model'])}
        >
          {PRESETS.map((p) => (
            <option key={p} value={p}>
              preset {p}
            </option>
          ))}
          <option value="init">from a checkpoint…</option>
        </select>
      </Field>
      {fields.model === 'init' &&
        text('init', 'Model', 'an absolute model directory, <runId>/step-NNNNNN, or <runId>/latest')}
      <Field label="Data">
        <select
          name="dataKind"
          value={fields.dataKind}
          onChange={(e) => set('dataKind')(e.target.value as RunFormFields['dataKind'])}
        >
          <option value="text">a text file</option>
          <option value="manifest">a prepared manifest (forge prepare)</option>
        </select>
      </Field>
      {text('dataPath', 'Data path', `readable by every worker; ${BUILTIN_TEXT} is the built-in corpus`)}
      <div className="row">
        {text('steps', 'Steps')}
        {text('batchSize', 'Global batch')}
        {text('contextLength', 'Context length', "blank: the preset's")}
        {text('workers', 'Workers')}
      </div>
      <div className="row">
        {text('lr', 'Learning rate')}
        {text('checkpointEvery', 'Checkpoint every', 'steps; 0: only at the end')}
        {text('evalEvery', 'Evaluate every', 'steps; 0: never')}
      </div>
      <div className="row">
        <Field
          label="Sync"
          hint="ddp: gradients every step, sent while backward runs; diloco: an outer step every inner steps"
        >
          <select
            name="sync"
            value={fields.sync}
            onChange={(e) => set('sync')(e.target.value as RunFormFields['sync'])}
          >
            <option value="ddp">ddp</option>
            <option value="ddp-no-overlap">ddp, no overlap</option>
            <option value="diloco">diloco</option>
          </select>
        </Field>
        {fields.sync === 'diloco' && text('innerSteps', 'Inner steps', 'local steps per outer step')}
      </div>
      {fields.sync === 'diloco' && (
        <div className="row">
          {text('outerLr', 'Outer learning rate', "0.7: the paper's; 1 with momentum 0 averages the workers")}
          {text(
            'outerMomentum',
            'Outer momentum',
            "Nesterov, 0.9: the paper's; 0 suits short runs from scratch (docs/benchmarks.md)",
          )}
        </div>
      )}
      <ErrorNotice error={failure} />
      <button type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Start run'}
      </button>
    </form>
  );
}
