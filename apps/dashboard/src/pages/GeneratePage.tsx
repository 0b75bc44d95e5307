/** The generate box: pick a checkpoint, type a prompt, watch the text stream in (POST /generate). */
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactElement } from 'react';
import type { ApiClient } from '../api/client';
import { useServices } from '../app/context';
import { ErrorNotice } from '../components/ErrorNotice';
import { Field } from '../components/Field';
import { useResource } from '../hooks/useResource';
import { FieldErrors } from '../lib/form-fields';

/** The coordinator's cap on one request's tokens (POST /generate answers 400 above it). */
const MAX_NEW_TOKENS = 1024;

/** Runs whose checkpoints are offered in the picker (newest first). */
const RUNS_OFFERED = 20;

/** `<runId>/<checkpoint>` of every complete checkpoint of the recent runs. */
async function checkpointChoices(api: ApiClient): Promise<string[]> {
  const runs = (await api.listRuns()).slice(0, RUNS_OFFERED);
  const lists = await Promise.all(runs.map((r) => api.listCheckpoints(r.id).catch(() => [])));
  return runs.flatMap((r, i) =>
    lists[i]
      .filter((c) => c.complete)
      .reverse()
      .map((c) => `${r.id}/${c.name}`),
  );
}

/** The page; `checkpoint` preselects one (from a run page's "Generate" link). */
export function GeneratePage({ checkpoint: initial }: { checkpoint?: string }): ReactElement {
  const { api } = useServices();
  const load = useCallback(() => checkpointChoices(api), [api]);
  const choices = useResource<string[]>(load, { fastMs: 0, slowMs: 0 });
  const [checkpoint, setCheckpoint] = useState(initial ?? '');
  const [prompt, setPrompt] = useState('Every effort moves you');
  const [maxNewTokens, setMaxNewTokens] = useState('50');
  const [temperature, setTemperature] = useState('0.8');
  const [topK, setTopK] = useState('40');
  const [output, setOutput] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error>();
  const [streaming, setStreaming] = useState(false);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);
  useEffect(() => {
    if (initial) setCheckpoint(initial);
  }, [initial]);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const f = new FieldErrors();
    const ck = f.required(
      'checkpoint',
      checkpoint,
      'pick a checkpoint (<runId>/<checkpoint> or a directory)',
    );
    const p = f.required('prompt', prompt, 'type a prompt');
    const n = f.int('maxNewTokens', maxNewTokens, 1, MAX_NEW_TOKENS);
    const t = f.number0('temperature', temperature);
    const k = topK.trim() === '' ? undefined : f.int('topK', topK, 1);
    setErrors(f.errors);
    if (f.any || ck === undefined || p === undefined || n === undefined) return;
    const controller = new AbortController();
    abort.current = controller;
    setOutput('');
    setFailure(undefined);
    setStreaming(true);
    try {
      await api.generate(
        { checkpoint: ck, prompt: p, maxNewTokens: n, temperature: t, topK: k },
        (text) => setOutput((o) => o + text),
        controller.signal,
      );
    } catch (err) {
      if (!controller.signal.aborted) setFailure(err as Error);
    } finally {
      setStreaming(false);
    }
  };

  return (
    <section>
      <h1>Generate</h1>
      <form className="card form" onSubmit={(e) => void submit(e)} data-testid="generate-form">
        <Field
          label="Checkpoint"
          error={errors.checkpoint}
          hint="<runId>/<checkpoint>, or a checkpoint directory"
        >
          <input
            name="checkpoint"
            list="checkpoint-choices"
            value={checkpoint}
            onChange={(e) => setCheckpoint(e.target.value)}
          />
          <datalist id="checkpoint-choices">
            {(choices.data ?? []).map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </Field>
        <Field label="Prompt" error={errors.prompt}>
          <textarea name="prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        </Field>
        <div className="row">
          <Field label="Max new tokens" error={errors.maxNewTokens}>
            <input
              name="maxNewTokens"
              value={maxNewTokens}
              onChange={(e) => setMaxNewTokens(e.target.value)}
            />
          </Field>
          <Field label="Temperature" error={errors.temperature} hint="0: greedy">
            <input name="temperature" value={temperature} onChange={(e) => setTemperature(e.target.value)} />
          </Field>
          <Field label="Top-k" error={errors.topK} hint="blank: all tokens">
            <input name="topK" value={topK} onChange={(e) => setTopK(e.target.value)} />
          </Field>
        </div>
        <div className="actions">
          <button type="submit" disabled={streaming}>
            {streaming ? 'Generating…' : 'Generate'}
          </button>
          {streaming && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
        </div>
      </form>
      <ErrorNotice error={failure ?? choices.error} />
      <pre className="generated" data-testid="generated" aria-live="polite">
        <span className="muted">{output || streaming ? prompt : ''}</span>
        {output}
      </pre>
    </section>
  );
}
