import {
  finetuneRankJobSchema,
  finetuneResultSchema,
  finetuneSpecSchema,
  SPAMASSASSIN_DATASET,
} from './finetune-job';

describe('finetuneSpecSchema', () => {
  it('fills the book defaults per kind', () => {
    const classify = finetuneSpecSchema.parse({
      kind: 'classification',
      preset: 'tiny',
      dataset: SPAMASSASSIN_DATASET,
    });
    expect(classify.hyperparameters).toEqual({ epochs: 5, batchSize: 8, lr: 5e-5, weightDecay: 0.1 });
    expect(classify.train).toBe('last-block');
    const instruct = finetuneSpecSchema.parse({
      kind: 'instruction',
      baseCheckpoint: '/m',
      dataset: 'd.json',
    });
    expect(instruct.hyperparameters.epochs).toBe(2);
    expect(instruct.train).toBe('all');
    expect(instruct.style).toBe('alpaca');
  });

  it('trains LoRA adapters when lora is given', () => {
    const spec = finetuneSpecSchema.parse({
      kind: 'instruction',
      baseCheckpoint: '/m',
      dataset: 'd.json',
      lora: { rank: 8, alpha: 16 },
    });
    expect(spec.train).toBe('lora');
  });

  it.each([
    [{ kind: 'classification', dataset: 'a.csv' }, 'baseCheckpoint'],
    [{ kind: 'classification', dataset: 'a.csv', preset: 'tiny', baseCheckpoint: '/m' }, 'baseCheckpoint'],
    [{ kind: 'instruction', dataset: SPAMASSASSIN_DATASET, preset: 'tiny' }, 'dataset'],
    [{ kind: 'classification', dataset: 'a.csv', preset: 'tiny', train: 'last-0' }, 'train'],
    [{ kind: 'classification', dataset: 'a.csv', preset: 'tiny', workers: 9 }, 'workers'],
    [{ kind: 'regression', dataset: 'a.csv', preset: 'tiny' }, 'kind'],
    [
      { kind: 'classification', dataset: 'a.csv', preset: 'tiny', valFraction: 0.3, testFraction: 0.7 },
      'testFraction',
    ],
    [{ kind: 'classification', dataset: 'a.csv', preset: 'tiny', pooling: 'first' }, 'pooling'],
    [{ kind: 'classification', dataset: 'a.csv', preset: 'tiny', labels: ['spam'] }, 'labels'],
  ])('rejects %j naming %s', (body, field) => {
    const parsed = finetuneSpecSchema.safeParse(body);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.error.issues.map((i) => i.path[0])).toContain(field);
  });
});

describe('finetune rank jobs and results', () => {
  const spec = finetuneSpecSchema.parse({ kind: 'classification', preset: 'tiny', dataset: 'a.csv' });
  const peers = [
    { workerId: 'w0', address: '127.0.0.1:1' },
    { workerId: 'w1', address: '127.0.0.1:2' },
  ];

  it('round-trips a rank job through JSON', () => {
    const job = { finetuneId: 'ft-1', attempt: 0, worldSize: 2, rank: 1, peers, spec, outDir: '/out' };
    expect(finetuneRankJobSchema.parse(JSON.parse(JSON.stringify(job)))).toEqual(job);
  });

  it('refuses a rank outside the ring', () => {
    const job = { finetuneId: 'ft-1', attempt: 0, worldSize: 2, rank: 2, peers, spec, outDir: '/out' };
    expect(finetuneRankJobSchema.safeParse(job).success).toBe(false);
  });

  it('tells successes from failures', () => {
    const failure = finetuneResultSchema.parse({
      ok: false,
      workerId: 'w0',
      rank: 0,
      steps: 3,
      kind: 'transient',
      error: 'peer timed out',
    });
    expect(failure.ok).toBe(false);
  });
});
