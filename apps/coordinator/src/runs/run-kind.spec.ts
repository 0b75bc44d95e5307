import type { RankStepReport, RankSuccess } from '@llm-forge/cluster-protocol';
import { shareFlowTime } from './run-kind';

/** A rank's success over steps whose wall times are `walls` (undefined: not reported). */
function rank(r: number, walls: (number | undefined)[]): RankSuccess {
  const steps: RankStepReport[] = walls.map((wallMs, step) => ({
    step,
    loss: 1,
    localLoss: 1,
    tokens: 8,
    lr: 1e-3,
    gradNorm: 1,
    computeMs: 1,
    commMs: 0,
    ...(wallMs !== undefined ? { wallMs } : {}),
    bytesSent: 0,
    verified: false,
  }));
  return { ok: true, workerId: `w${r}`, rank: r, step: 0, appliedSteps: walls.length, jobMs: 1, steps };
}

describe('shareFlowTime', () => {
  it("shares the flow's time by each step's slowest rank, adding up to the flow", () => {
    // steps 0–2 inner, step 3 ends an outer step (its all-reduce makes it longer on both ranks)
    const shares = shareFlowTime([rank(0, [100, 100, 90, 300]), rank(1, [90, 100, 100, 290])], 1200);
    expect(shares).toEqual([200, 200, 200, 600]);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1200, 9);
  });

  it('shares evenly when a rank does not report wall times (workers before wallMs)', () => {
    expect(shareFlowTime([rank(0, [100, 300]), rank(1, [undefined, undefined])], 1000)).toEqual([500, 500]);
    expect(shareFlowTime([rank(0, [0, 0])], 10)).toEqual([5, 5]);
  });
});
