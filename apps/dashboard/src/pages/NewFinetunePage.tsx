/** The form that submits a finetune job (POST /finetunes). */
import type { ReactElement } from 'react';
import type { FinetuneKind } from '../api/types';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { Field } from '../components/Field';
import { buildFinetuneRequest, defaultFinetuneForm } from '../lib/finetune-form';
import { useJobForm } from '../lib/use-job-form';

/** New-finetune form; on success it opens the job's page. */
export function NewFinetunePage(): ReactElement {
  const { api } = useServices();
  const { fields, setFields, failure, busy, submit, text } = useJobForm({
    initial: () => defaultFinetuneForm('classification'),
    build: buildFinetuneRequest,
    create: (request) => api.createFinetune(request),
    page: 'finetune',
  });

  const changeKind = (kind: FinetuneKind): void =>
    setFields((f) => ({
      ...defaultFinetuneForm(kind),
      baseCheckpoint: f.baseCheckpoint,
      dataset: f.dataset,
    }));

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} data-testid="new-finetune-form">
      <h1>New finetune</h1>
      <Field label="Kind">
        <select name="kind" value={fields.kind} onChange={(e) => changeKind(e.target.value as FinetuneKind)}>
          <option value="classification">classification (e.g. spam)</option>
          <option value="instruction">instruction following</option>
        </select>
      </Field>
      {text(
        'baseCheckpoint',
        'Base checkpoint',
        'an absolute model directory, <runId>/step-NNNNNN, or <runId>/latest',
      )}
      {text(
        'dataset',
        'Dataset',
        fields.kind === 'classification'
          ? 'CSV/TSV of label,text rows (a path every worker can read), or spamassassin'
          : 'JSON/JSONL of {instruction, input, output}',
      )}
      <div className="row">
        {text('epochs', 'Epochs')}
        {text('batchSize', 'Batch size')}
        {text('lr', 'Learning rate')}
        {text('maxLength', 'Max length', 'tokens per example')}
        {text('workers', 'Workers', 'data-parallel ranks')}
      </div>
      <label className="toggle">
        <input
          type="checkbox"
          name="lora"
          checked={fields.lora}
          onChange={(e) => setFields((f) => ({ ...f, lora: e.target.checked }))}
        />{' '}
        LoRA (train low-rank adapters instead of all weights)
      </label>
      {fields.lora && (
        <div className="row">
          {text('loraRank', 'LoRA rank')}
          {text('loraAlpha', 'LoRA alpha')}
        </div>
      )}
      <ErrorNotice error={failure} />
      <button type="submit" disabled={busy}>
        {busy ? 'Submitting…' : 'Submit finetune'}
      </button>
    </form>
  );
}
