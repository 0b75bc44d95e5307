/** The "new run" form: its fields (strings, as typed) and their validation into a `POST /runs` body. */
import { BUILTIN_TEXT, PRETRAIN_DEFAULTS as D } from '@llm-forge/cluster-protocol/browser';
import type { RunSpecInput } from '../api/types';
import { FieldErrors, type FormResult } from './form-fields';

/** Model presets of `@llm-forge/gpt` offered by the form (libs/cluster-protocol MODEL_PRESETS). */
export const PRESETS = ['tiny', 'small', 'gpt2-small', 'gpt2-medium', 'gpt2-large', 'gpt2-xl'] as const;
type Preset = (typeof PRESETS)[number];

/** What the user typed. */
export interface RunFormFields {
  name: string;
  /** A preset name, or `init` to start from a checkpoint. */
  model: Preset | 'init';
  init: string;
  dataKind: 'text' | 'manifest';
  dataPath: string;
  steps: string;
  batchSize: string;
  contextLength: string;
  workers: string;
  lr: string;
  checkpointEvery: string;
  evalEvery: string;
  /**
   * How the workers synchronise: every step (ddp; gradients summed while backward runs, or after it
   * for comparisons) or every `innerSteps` steps (DiLoCo).
   */
  sync: 'ddp' | 'ddp-no-overlap' | 'diloco';
  innerSteps: string;
  /** DiLoCo's outer learning rate η (1 with momentum 0: plain averaging of the workers' models). */
  outerLr: string;
  /** DiLoCo's outer Nesterov momentum μ, in [0, 1). */
  outerMomentum: string;
}

/** The form's initial values: the defaults of every run (PRETRAIN_DEFAULTS), those of `forge train` and `POST /runs`. */
export const DEFAULT_RUN_FORM: RunFormFields = {
  name: '',
  model: D.preset,
  init: '',
  dataKind: 'text',
  dataPath: D.text,
  steps: String(D.steps),
  batchSize: String(D.batchSize),
  contextLength: '',
  workers: String(D.workers),
  lr: String(D.lr),
  checkpointEvery: String(D.checkpointEvery),
  evalEvery: String(D.evalEvery),
  sync: D.sync.mode,
  innerSteps: String(D.diloco.innerSteps),
  outerLr: String(D.diloco.outerLr),
  outerMomentum: String(D.diloco.outerMomentum),
};

/** Validates the fields; the coordinator validates again (paths, presets) and its issues are shown too. */
export function buildRunSpec(f: RunFormFields): FormResult<RunSpecInput> {
  const e = new FieldErrors();
  const dataPath = e.required(
    'dataPath',
    f.dataPath,
    `give a text file, ${BUILTIN_TEXT} or a manifest directory`,
  );
  const init =
    f.model === 'init'
      ? e.required('init', f.init, 'give the model to start from (a directory, or <runId>/latest)')
      : undefined;
  const steps = e.int('steps', f.steps, 1);
  const batchSize = e.int('batchSize', f.batchSize, 1);
  const contextLength =
    f.contextLength.trim() === '' ? undefined : e.int('contextLength', f.contextLength, 1);
  const workers = e.int('workers', f.workers, 1, 256);
  const lr = e.positive('lr', f.lr);
  const checkpointEvery = e.int(
    'checkpointEvery',
    f.checkpointEvery,
    0,
    Number.MAX_SAFE_INTEGER,
    D.checkpointEvery,
  );
  const evalEvery = e.int('evalEvery', f.evalEvery, 0, Number.MAX_SAFE_INTEGER, D.evalEvery);
  const diloco =
    f.sync === 'diloco'
      ? {
          innerSteps: e.int('innerSteps', f.innerSteps, 1),
          outerLr: e.positive('outerLr', f.outerLr, D.diloco.outerLr),
          outerMomentum: e.fraction('outerMomentum', f.outerMomentum, D.diloco.outerMomentum),
        }
      : undefined;
  if (workers !== undefined && batchSize !== undefined && workers > batchSize)
    e.fail(
      'workers',
      `workers (${workers}) must not exceed batchSize (${batchSize}): each needs a window per step`,
    );
  if (e.any) return { ok: false, errors: e.errors };

  const spec: RunSpecInput = {
    model: f.model === 'init' ? { init } : { preset: f.model },
    data: f.dataKind === 'manifest' ? { manifest: dataPath } : { text: dataPath },
    steps: steps as number,
    batchSize,
    workers,
    optimizer: { lr },
    checkpointEvery,
    evalEvery,
    sync: syncSpec(f.sync, diloco),
  };
  if (contextLength !== undefined) spec.contextLength = contextLength;
  if (f.name.trim() !== '') spec.name = f.name.trim();
  return { ok: true, value: spec };
}

/** DiLoCo's settings as the form parsed them (fields that failed are undefined, and the form fails). */
type DilocoFields = Omit<Extract<NonNullable<RunSpecInput['sync']>, { mode: 'diloco' }>, 'mode'>;

/** The run spec's `sync` for the form's choice. */
function syncSpec(sync: RunFormFields['sync'], diloco: DilocoFields | undefined): RunSpecInput['sync'] {
  if (sync === 'diloco') return { mode: 'diloco', ...diloco };
  return sync === 'ddp-no-overlap' ? { mode: 'ddp', overlap: false } : { mode: 'ddp' };
}
