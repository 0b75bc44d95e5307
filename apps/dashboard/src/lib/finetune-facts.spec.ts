import type { Finetune } from '../api/types';
import { baseRunId, finetuneParams, finetuneSeconds } from './finetune-facts';

const RUN = 'run-0b5e8c1a-1111-4222-8333-944455556666';

describe('finetune facts', () => {
  it('finds the base run of a <runId>/<checkpoint> reference or a run checkpoint directory', () => {
    expect(baseRunId({ baseCheckpoint: `${RUN}/latest` })).toBe(RUN);
    expect(
      baseRunId({ baseCheckpoint: '/data/m', spec: { baseCheckpoint: `/srv/runs/${RUN}/step-000200` } }),
    ).toBe(RUN);
    expect(baseRunId({ baseCheckpoint: '/models/gpt2' })).toBeUndefined();
    expect(baseRunId({})).toBeUndefined();
  });

  it('measures a finished job to its last update and an unfinished one to now', () => {
    const times = { createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:01:30Z' };
    expect(finetuneSeconds({ status: 'completed', ...times })).toBe(90);
    expect(finetuneSeconds({ status: 'running', ...times }, Date.parse('2026-01-01T00:00:10Z'))).toBe(10);
    expect(finetuneSeconds({ status: 'queued' })).toBeUndefined();
  });

  it('lists the hyperparameters as dotted keys, without what the page shows elsewhere', () => {
    const spec = {
      kind: 'classification',
      dataset: 'd',
      hyperparameters: { epochs: 5, lr: 5e-5 },
      train: 'lora',
    };
    expect(finetuneParams({ spec } as Pick<Finetune, 'spec'>)).toEqual([
      ['hyperparameters.epochs', '5'],
      ['hyperparameters.lr', '0.00005'],
      ['train', 'lora'],
    ]);
  });
});
