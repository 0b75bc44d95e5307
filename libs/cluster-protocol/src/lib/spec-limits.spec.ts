/** The bounds of issue 14's unbounded submissions: each refused with the field named. */
import { finetuneSpecSchema } from './finetune-job';
import { runSpecSchema } from './run-spec';
import { SPEC_LIMITS } from './spec-limits';

/** The issue paths and messages zod reports for `body`. */
function issuesOf(schema: typeof runSpecSchema | typeof finetuneSpecSchema, body: unknown) {
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.message]);
}

describe('spec limits', () => {
  it.each([
    [{ steps: 1e20 }, 'steps'],
    [{ steps: 1e300 }, 'steps'],
    [{ batchSize: 1e9 }, 'batchSize'],
    [{ contextLength: 1e9 }, 'contextLength'],
    [{ stride: 1e9 }, 'stride'],
    [{ evalBatches: 1e9 }, 'evalBatches'],
    [{ keepCheckpoints: 1e9 }, 'keepCheckpoints'],
    [{ checkpointEvery: 1e12 }, 'checkpointEvery'],
    [{ optimizer: { warmupSteps: 1e12 } }, 'optimizer.warmupSteps'],
  ])('refuses a run with %j, naming %s', (body, field) => {
    expect(issuesOf(runSpecSchema, body)).toEqual([
      [field, expect.stringMatching(/must be at most [\d,]+ \(the cluster's limit/)],
    ]);
  });

  it('refuses a seed JavaScript cannot hold exactly', () => {
    expect(issuesOf(runSpecSchema, { seed: 1e300 }).map(([f]) => f)).toEqual(['seed']);
  });

  it('accepts the largest allowed run', () => {
    const spec = runSpecSchema.parse({
      model: { init: 'runs/long-context/latest' }, // a preset's context would be shorter
      steps: SPEC_LIMITS.steps,
      batchSize: SPEC_LIMITS.batchSize,
      contextLength: SPEC_LIMITS.contextLength,
    });
    expect(spec.steps).toBe(10_000_000);
  });

  it('bounds a finetune the same way', () => {
    const base = { kind: 'classification', preset: 'tiny', dataset: '/d.csv' };
    expect(
      issuesOf(finetuneSpecSchema, { ...base, hyperparameters: { batchSize: 1e9, maxLength: 1e9 } }),
    ).toEqual([
      ['hyperparameters.batchSize', expect.stringContaining('must be at most 65,536')],
      ['hyperparameters.maxLength', expect.stringContaining('must be at most 32,768')],
    ]);
    expect(issuesOf(finetuneSpecSchema, { ...base, maxExamples: 1e12 }).map(([f]) => f)).toEqual([
      'maxExamples',
    ]);
  });
});
