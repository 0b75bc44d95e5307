import { finetuneSpecSchema } from './finetune-job';
import { BUILTIN_TEXT, FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS as D } from './run-defaults';
import { runSpecSchema } from './run-spec';

describe('PRETRAIN_DEFAULTS', () => {
  it('is what POST /runs fills in for an empty body: the quick start run', () => {
    const spec = runSpecSchema.parse({});
    expect(spec).toEqual({
      model: { preset: D.preset, resume: false },
      data: { text: BUILTIN_TEXT, valFraction: D.valFraction },
      optimizer: {
        lr: D.lr,
        minLr: D.lr / 10,
        warmupSteps: D.warmupSteps,
        schedule: D.schedule,
        weightDecay: D.weightDecay,
        gradClip: D.gradClip,
      },
      batchSize: D.batchSize,
      steps: D.steps,
      workers: D.workers,
      checkpointEvery: D.checkpointEvery,
      seed: D.seed,
      shuffle: D.shuffle,
      evalEvery: D.evalEvery,
      evalBatches: D.evalBatches,
      keepCheckpoints: D.keepCheckpoints,
      wireDType: D.wireDType,
      verifyEvery: D.verifyEvery,
      sync: { mode: 'ddp' },
    });
  });

  it("fills DiLoCo's settings with the paper's and checks them", () => {
    expect(runSpecSchema.parse({ sync: { mode: 'diloco' } }).sync).toEqual({
      mode: 'diloco',
      innerSteps: 50,
      outerLr: 0.7,
      outerMomentum: 0.9,
    });
    const bad = runSpecSchema.safeParse({ sync: { mode: 'diloco', outerMomentum: 1 } });
    expect(bad.success).toBe(false);
    if (!bad.success) expect(bad.error.issues[0].path).toEqual(['sync', 'outerMomentum']);
    expect(runSpecSchema.safeParse({ sync: { mode: 'local-sgd' } }).success).toBe(false);
  });

  it('holds the quick start values', () => {
    expect(D).toMatchObject({
      preset: 'tiny',
      text: 'builtin:moby-dick',
      steps: 200,
      batchSize: 8,
      lr: 1e-3,
      warmupSteps: 10,
    });
  });

  it("refuses a context longer than the preset's, before any worker builds the model", () => {
    const bad = runSpecSchema.safeParse({ contextLength: 256 }); // the default preset, tiny: 64
    expect(bad.success).toBe(false);
    if (!bad.success) {
      expect(bad.error.issues[0].path).toEqual(['contextLength']);
      expect(bad.error.issues[0].message).toMatch(
        /exceeds the tiny preset's context of 64 tokens: give at most 64/,
      );
    }
    expect(runSpecSchema.parse({ model: { preset: 'small' }, contextLength: 256 }).contextLength).toBe(256);
    expect(runSpecSchema.safeParse({ model: { preset: 'small' }, contextLength: 257 }).success).toBe(false);
  });

  it('still asks for a data source when data is given without one', () => {
    const bad = runSpecSchema.safeParse({ data: { valFraction: 0.2 } });
    expect(bad.success).toBe(false);
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toEqual(['data.manifest']);
  });
});

describe('FINETUNE_DEFAULTS', () => {
  it('is what POST /finetunes fills in', () => {
    for (const kind of ['classification', 'instruction'] as const) {
      const spec = finetuneSpecSchema.parse({ kind, preset: 'tiny', dataset: '/data/x' });
      expect(spec.hyperparameters).toEqual({
        epochs: FINETUNE_DEFAULTS.epochs[kind],
        batchSize: FINETUNE_DEFAULTS.batchSize,
        lr: FINETUNE_DEFAULTS.lr,
        weightDecay: FINETUNE_DEFAULTS.weightDecay,
      });
      expect(spec).toMatchObject({
        seed: FINETUNE_DEFAULTS.seed,
        workers: FINETUNE_DEFAULTS.workers,
        checkpointEvery: FINETUNE_DEFAULTS.checkpointEvery,
        maxResponses: FINETUNE_DEFAULTS.maxResponses,
      });
    }
    expect(FINETUNE_DEFAULTS).toMatchObject({
      lr: 5e-5,
      batchSize: 8,
      epochs: { classification: 5, instruction: 2 },
    });
  });
});
