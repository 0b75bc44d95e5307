import type { FinetuneDetail } from '../api/types';
import { applyFinetuneEvent, finetuneRow, upsertById } from './live-state';

describe('upsertById', () => {
  const list: { id: string; createdAt?: string; v: number }[] = [
    { id: 'c', createdAt: '2026-01-03T00:00:00Z', v: 1 },
    { id: 'a', createdAt: '2026-01-01T00:00:00Z', v: 1 },
  ];

  it('replaces an item in place', () => {
    expect(
      upsertById(list, { id: 'a', createdAt: '2026-01-01T00:00:00Z', v: 2 }).map((x) => [x.id, x.v]),
    ).toEqual([
      ['c', 1],
      ['a', 2],
    ]);
  });

  it('inserts newest first and leaves the input alone', () => {
    const out = upsertById(list, { id: 'b', createdAt: '2026-01-02T00:00:00Z', v: 1 });
    expect(out.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(upsertById(list, { id: 'z', createdAt: '2025-01-01T00:00:00Z', v: 1 }).map((x) => x.id)).toEqual([
      'c',
      'a',
      'z',
    ]);
    expect(upsertById(list, { id: 'n', v: 1 }).map((x) => x.id)).toEqual(['n', 'c', 'a']);
    expect(list.map((x) => x.id)).toEqual(['c', 'a']);
  });
});

describe('applyFinetuneEvent', () => {
  const detail: FinetuneDetail = {
    id: 'ft-1',
    kind: 'classification',
    status: 'running',
    progress: { step: 1, totalSteps: 4 },
    metrics: [{ step: 1, trainLoss: 0.9 }],
  };

  it('replaces the record and keeps the curves when the event has none', () => {
    const out = applyFinetuneEvent(detail, {
      id: 'ft-1',
      kind: 'classification',
      status: 'failed',
      error: 'rank 0: out of memory',
      progress: { step: 1, totalSteps: 4 },
    });
    expect(out).toMatchObject({ status: 'failed', error: 'rank 0: out of memory' });
    expect(out?.metrics).toBe(detail.metrics);
  });

  it('takes the history and the evaluation the event carries', () => {
    const evaluation = { accuracy: { test: 0.5 }, confusionMatrix: [[1]], labels: ['ham'] };
    const out = applyFinetuneEvent(detail, {
      ...detail,
      status: 'completed',
      progress: { step: 2, totalSteps: 2 },
      metrics: [
        { step: 1, trainLoss: 0.9 },
        { step: 2, trainLoss: 0.5, valAccuracy: 0.75 },
      ],
      evaluation,
    });
    expect(out?.metrics.map((m) => m.step)).toEqual([1, 2]);
    expect(out?.evaluation).toEqual(evaluation);
    expect(out?.progress).toEqual({ step: 2, totalSteps: 2 });
  });

  it("ignores another job's event and a page still loading", () => {
    expect(applyFinetuneEvent(detail, { ...detail, id: 'ft-2', status: 'failed' })).toBe(detail);
    expect(applyFinetuneEvent(undefined, detail)).toBeUndefined();
  });
});

describe('finetuneRow', () => {
  it('drops the history and evaluation an event carries', () => {
    const row = finetuneRow({
      id: 'ft-1',
      kind: 'instruction',
      status: 'completed',
      progress: { step: 2, totalSteps: 2 },
      metrics: [{ step: 2, trainLoss: 0.5 }],
      evaluation: { responses: [] },
    });
    expect(row).toEqual({
      id: 'ft-1',
      kind: 'instruction',
      status: 'completed',
      progress: { step: 2, totalSteps: 2 },
    });
  });
});
