import { nextOuterStep, outerStepAfter, runJobEnd } from './job-steps';
import { runSpecSchema } from './run-spec';

describe('the steps of a rank job', () => {
  it('ends a DiLoCo job at the first step after its start where an outer step falls', () => {
    for (const cadence of [
      { innerSteps: 4, finalStep: 10 },
      { innerSteps: 3 },
      { innerSteps: 1, finalStep: 5 },
    ]) {
      for (let step = 0; step < 12; step++) {
        let first = step + 1;
        while (!outerStepAfter(first, cadence)) first++;
        expect(nextOuterStep(step, cadence)).toBe(first);
      }
    }
  });

  it('covers one step in DDP and up to the next outer step (or the end) in DiLoCo', () => {
    const ddp = runSpecSchema.parse({ steps: 10 });
    expect([0, 4, 9].map((s) => runJobEnd(ddp, s))).toEqual([1, 5, 10]);
    const diloco = runSpecSchema.parse({ steps: 10, sync: { mode: 'diloco', innerSteps: 4 } });
    expect([0, 4, 8, 2].map((s) => runJobEnd(diloco, s))).toEqual([4, 8, 10, 4]);
  });
});
