import { finetuneSpecSchema, SPAMASSASSIN_DATASET } from './finetune-job';
import { parseRankJob, rankResultSchema } from './queues';

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
  const job = {
    kind: 'finetune',
    jobId: 'ft-1',
    step: 4,
    endStep: 5,
    attempt: 0,
    worldSize: 2,
    rank: 1,
    peers,
    spec,
    outDir: '/out',
  };

  it('round-trips a rank job through JSON', () => {
    expect(parseRankJob(JSON.parse(JSON.stringify(job)))).toEqual(job);
  });

  it("refuses a rank outside the ring and another kind's fields", () => {
    expect(() => parseRankJob({ ...job, rank: 2 })).toThrow(/rank must be below worldSize/);
    expect(() => parseRankJob({ ...job, checkpointDir: '/runs/x' })).toThrow(/Unrecognized key/);
    expect(() => parseRankJob({ ...job, spec: { ...spec, kind: 'regression' } })).toThrow(/spec\.kind/);
  });

  it("carries rank 0's progress and final evaluation in a step's result", () => {
    const success = rankResultSchema.parse({
      ok: true,
      workerId: 'w0',
      rank: 0,
      step: 9,
      appliedSteps: 10,
      jobMs: 2,
      steps: [
        {
          step: 9,
          loss: 0.5,
          localLoss: 0.5,
          tokens: 100,
          lr: 5e-5,
          gradNorm: 1,
          computeMs: 1,
          commMs: 0,
          bytesSent: 0,
          verified: false,
          finetune: {
            totalSteps: 10,
            epoch: 2,
            trainableParameters: 10,
            totalParameters: 100,
            logged: { step: 10, epoch: 2, trainLoss: 0.5, valLoss: 0.6 },
            modelDir: '/out/model',
          },
        },
      ],
    });
    expect(success.ok && success.steps[0].finetune?.logged?.valLoss).toBe(0.6);
  });
});
