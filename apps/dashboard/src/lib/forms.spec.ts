import { finetuneSpecSchema, runSpecSchema } from '@llm-forge/cluster-protocol';
import { FieldErrors } from './form-fields';
import { buildFinetuneRequest, defaultFinetuneForm } from './finetune-form';
import { buildRunSpec, DEFAULT_RUN_FORM } from './run-form';

describe('run form', () => {
  it('builds the POST /runs body from the defaults: the quick start run', () => {
    expect(buildRunSpec(DEFAULT_RUN_FORM)).toEqual({
      ok: true,
      value: {
        model: { preset: 'tiny' },
        data: { text: 'builtin:moby-dick' },
        steps: 200,
        batchSize: 8,
        workers: 1,
        optimizer: { lr: 0.001 },
        checkpointEvery: 100,
        evalEvery: 50,
        sync: { mode: 'ddp' },
      },
    });
  });

  it('asks DiLoCo for its inner steps, with the paper defaults for the rest', () => {
    const r = buildRunSpec({ ...DEFAULT_RUN_FORM, sync: 'diloco', innerSteps: '20' });
    expect(r.ok && runSpecSchema.parse(r.value).sync).toEqual({
      mode: 'diloco',
      innerSteps: 20,
      outerLr: 0.7,
      outerMomentum: 0.9,
    });
    const bad = buildRunSpec({ ...DEFAULT_RUN_FORM, sync: 'diloco', innerSteps: '0' });
    expect(!bad.ok && bad.errors.innerSteps).toBe('innerSteps must be at least 1, got 0');
  });

  it("takes DiLoCo's outer learning rate and momentum (averaging: 1 and 0)", () => {
    const r = buildRunSpec({ ...DEFAULT_RUN_FORM, sync: 'diloco', outerLr: '1', outerMomentum: '0' });
    expect(r.ok && runSpecSchema.parse(r.value).sync).toEqual({
      mode: 'diloco',
      innerSteps: 50,
      outerLr: 1,
      outerMomentum: 0,
    });
    const blank = buildRunSpec({ ...DEFAULT_RUN_FORM, sync: 'diloco', outerLr: ' ', outerMomentum: '' });
    expect(blank.ok && blank.value.sync).toEqual({
      mode: 'diloco',
      innerSteps: 50,
      outerLr: 0.7,
      outerMomentum: 0.9,
    });
    const bad = buildRunSpec({ ...DEFAULT_RUN_FORM, sync: 'diloco', outerLr: '0', outerMomentum: '1' });
    expect(!bad.ok && bad.errors).toEqual({
      outerLr: 'outerLr must be greater than 0, got 0',
      outerMomentum: 'outerMomentum must be at least 0 and below 1, got 1',
    });
    // ddp ignores them, even when they would not parse
    const ddp = buildRunSpec({ ...DEFAULT_RUN_FORM, outerLr: 'x', outerMomentum: '2' });
    expect(ddp.ok && ddp.value.sync).toEqual({ mode: 'ddp' });
  });

  it('asks ddp to sum after backward only when told (overlap is the default)', () => {
    const on = buildRunSpec(DEFAULT_RUN_FORM);
    expect(on.ok && runSpecSchema.parse(on.value).sync).toEqual({ mode: 'ddp' });
    const off = buildRunSpec({ ...DEFAULT_RUN_FORM, sync: 'ddp-no-overlap' });
    expect(off.ok && runSpecSchema.parse(off.value).sync).toEqual({ mode: 'ddp', overlap: false });
  });

  it('starts from the defaults POST /runs gives an empty body', () => {
    const r = buildRunSpec(DEFAULT_RUN_FORM);
    expect(r.ok && runSpecSchema.parse(r.value)).toEqual(runSpecSchema.parse({}));
  });

  it('starts from a checkpoint on a manifest, with name and context length', () => {
    const r = buildRunSpec({
      ...DEFAULT_RUN_FORM,
      name: ' long run ',
      model: 'init',
      init: 'runs/a/step-000100',
      dataKind: 'manifest',
      dataPath: 'data/owt',
      contextLength: '256',
    });
    expect(r.ok && r.value).toMatchObject({
      name: 'long run',
      model: { init: 'runs/a/step-000100' },
      data: { manifest: 'data/owt' },
      contextLength: 256,
    });
  });

  it('names every bad field', () => {
    const r = buildRunSpec({
      ...DEFAULT_RUN_FORM,
      model: 'init',
      init: ' ',
      dataPath: '',
      steps: '0',
      batchSize: '2.5',
      workers: '3',
      lr: 'fast',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(['batchSize', 'dataPath', 'init', 'lr', 'steps']);
    expect(r.errors.steps).toBe('steps must be at least 1, got 0');
    expect(r.errors.batchSize).toBe('batchSize must be a whole number, got 2.5');
    expect(r.errors.lr).toBe('lr must be a number, got "fast"');
  });

  it('refuses more workers than the batch has windows', () => {
    const r = buildRunSpec({ ...DEFAULT_RUN_FORM, workers: '8', batchSize: '4' });
    expect(r.ok === false && r.errors.workers).toMatch(/must not exceed batchSize/);
  });
});

describe('finetune form', () => {
  it('starts from the defaults POST /finetunes fills in', () => {
    for (const kind of ['classification', 'instruction'] as const) {
      const base = { kind, baseCheckpoint: '/m', dataset: '/d' };
      const r = buildFinetuneRequest({ ...defaultFinetuneForm(kind), ...base });
      if (!r.ok) throw new Error(`the default form is invalid: ${JSON.stringify(r.errors)}`);
      // maxLength is the form's own suggestion (the API derives it from the data).
      const hyperparameters = { ...r.value.hyperparameters, maxLength: undefined };
      const formed = finetuneSpecSchema.parse({ ...base, hyperparameters, workers: r.value.workers });
      expect(formed).toEqual(finetuneSpecSchema.parse(base));
    }
  });

  it('builds a classification request, with LoRA when asked', () => {
    const r = buildFinetuneRequest({
      ...defaultFinetuneForm('classification'),
      baseCheckpoint: 'run-1/step-000200',
      dataset: 'data/sms-spam.csv',
      lora: true,
      loraRank: '8',
      loraAlpha: '16',
    });
    expect(r).toEqual({
      ok: true,
      value: {
        kind: 'classification',
        baseCheckpoint: 'run-1/step-000200',
        dataset: 'data/sms-spam.csv',
        hyperparameters: { epochs: 5, batchSize: 8, lr: 0.00005, maxLength: 128 },
        workers: 1,
        lora: { rank: 8, alpha: 16 },
      },
    });
  });

  it('leaves LoRA out when off, even with junk in its fields', () => {
    const r = buildFinetuneRequest({
      ...defaultFinetuneForm('instruction'),
      baseCheckpoint: 'ck',
      dataset: 'd.json',
      loraRank: 'x',
    });
    expect(r.ok && r.value.lora).toBeUndefined();
    expect(r.ok && r.value.kind).toBe('instruction');
  });

  it('refuses more workers than examples per step', () => {
    const r = buildFinetuneRequest({
      ...defaultFinetuneForm('classification'),
      baseCheckpoint: 'ck',
      dataset: 'd.csv',
      batchSize: '2',
      workers: '3',
    });
    expect(r.ok === false && r.errors.workers).toMatch(/workers \(3\) must not exceed batchSize \(2\)/);
  });

  it('names missing and out-of-range fields', () => {
    const r = buildFinetuneRequest({
      ...defaultFinetuneForm('classification'),
      epochs: '0',
      lr: '-1',
      lora: true,
      loraRank: '0',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      baseCheckpoint: 'give the checkpoint to finetune (a directory, or <runId>/<checkpoint>)',
      dataset: 'give the dataset: a CSV/TSV of label,text rows, or spamassassin',
      epochs: 'epochs must be between 1 and 1000, got 0',
      lr: 'lr must be greater than 0, got -1',
      loraRank: 'loraRank must be between 1 and 1024, got 0',
    });
  });
});

describe('FieldErrors.number0', () => {
  it('accepts blank and non-negative numbers, names the field otherwise', () => {
    const e = new FieldErrors();
    expect(e.number0('temperature', ' ')).toBeUndefined();
    expect(e.number0('temperature', '0')).toBe(0);
    expect(e.number0('temperature', '0.7')).toBe(0.7);
    expect(e.any).toBe(false);
    expect(e.number0('temperature', '-1')).toBeUndefined();
    expect(e.errors).toEqual({ temperature: 'temperature must be 0 or more, got -1' });
  });
});
