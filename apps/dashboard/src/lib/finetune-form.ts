/** The "new finetune" form: its fields and their validation into a `POST /finetunes` body. */
import { FINETUNE_DEFAULTS as D } from '@llm-forge/cluster-protocol/browser';
import type { CreateFinetuneRequest, FinetuneKind } from '../api/types';
import { FieldErrors, type FormResult } from './form-fields';

/** What the user typed. */
export interface FinetuneFormFields {
  kind: FinetuneKind;
  baseCheckpoint: string;
  dataset: string;
  epochs: string;
  batchSize: string;
  lr: string;
  maxLength: string;
  /** Workers that train it data-parallel. */
  workers: string;
  lora: boolean;
  loraRank: string;
  loraAlpha: string;
}

/** Initial values per kind: the book's settings (FINETUNE_DEFAULTS, those of the CLI and `POST /finetunes`). */
export function defaultFinetuneForm(kind: FinetuneKind): FinetuneFormFields {
  return {
    kind,
    baseCheckpoint: '',
    dataset: '',
    epochs: String(D.epochs[kind]),
    batchSize: String(D.batchSize),
    lr: String(D.lr),
    maxLength: kind === 'classification' ? '128' : '256',
    workers: String(D.workers),
    lora: false,
    loraRank: '16',
    loraAlpha: '16',
  };
}

/** Validates the fields into a request body, or names each bad field. */
export function buildFinetuneRequest(f: FinetuneFormFields): FormResult<CreateFinetuneRequest> {
  const e = new FieldErrors();
  const baseCheckpoint = e.required(
    'baseCheckpoint',
    f.baseCheckpoint,
    'give the checkpoint to finetune (a directory, or <runId>/<checkpoint>)',
  );
  const dataset = e.required(
    'dataset',
    f.dataset,
    f.kind === 'classification'
      ? 'give the dataset: a CSV/TSV of label,text rows, or spamassassin'
      : 'give the dataset: a JSON or JSONL of {instruction, input, output}',
  );
  const epochs = e.int('epochs', f.epochs, 1, 1000);
  const batchSize = e.int('batchSize', f.batchSize, 1);
  const lr = e.positive('lr', f.lr);
  const maxLength = e.int('maxLength', f.maxLength, 1);
  const workers = e.int('workers', f.workers, 1, 256);
  if (workers !== undefined && batchSize !== undefined && workers > batchSize)
    e.fail(
      'workers',
      `workers (${workers}) must not exceed batchSize (${batchSize}): each needs an example per step`,
    );
  const loraRank = f.lora ? e.int('loraRank', f.loraRank, 1, 1024) : undefined;
  const loraAlpha = f.lora ? e.positive('loraAlpha', f.loraAlpha) : undefined;
  if (e.any) return { ok: false, errors: e.errors };

  const request: CreateFinetuneRequest = {
    kind: f.kind,
    baseCheckpoint: baseCheckpoint as string,
    dataset: dataset as string,
    hyperparameters: {
      epochs: epochs as number,
      batchSize: batchSize as number,
      lr: lr as number,
      maxLength: maxLength as number,
    },
    workers: workers as number,
  };
  if (f.lora) request.lora = { rank: loraRank as number, alpha: loraAlpha as number };
  return { ok: true, value: request };
}
