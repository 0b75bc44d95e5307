/** `GET /metrics` per-run series: steps counted once, throughput as a median, finished runs dropped. */
import request from 'supertest';
import { JobEvents } from '../events/job-events.service';
import type { Run, StepMetrics } from '../runs/run.model';
import { useTestApp } from '../test-utils/harness';

describe('coordinator /metrics (e2e, Redis)', () => {
  const ctx = useTestApp();
  const scrape = async (): Promise<string> => (await request(ctx.server).get('/metrics').expect(200)).text;
  const step = (runId: string, metric: StepMetrics): void =>
    ctx.built!.app.get(JobEvents).emit({ type: 'step', data: { runId, metric } });

  it('counts a re-run step once and keeps an evaluation step out of the throughput', async () => {
    if (!ctx.up) return;
    // steps 0-3, then 2 and 3 again (a rewind), then 4; step 3 also evaluated and ran 100 times slower
    for (const s of [0, 1, 2, 3, 2, 3, 4])
      step('run-a', { step: s, loss: 5 - s / 10, tokensPerSecond: s === 3 ? 10 : 1000, bytesSent: 100 });
    const text = await scrape();
    expect(text).toContain('forge_steps_total{run="run-a"} 5');
    expect(text).toContain('forge_tokens_per_second{run="run-a"} 1000');
    expect(text).toContain('forge_allreduce_bytes_total{run="run-a"} 700'); // real traffic, re-runs too
    expect(text).toContain('forge_loss{run="run-a"} 4.6');
  });

  it("exports a finished run's final values in one more scrape, then drops its series", async () => {
    if (!ctx.up) return;
    step('run-b', { step: 0, loss: 3, tokensPerSecond: 500 });
    step('run-c', { step: 0, loss: 4, tokensPerSecond: 500 });
    ctx.built!.app.get(JobEvents).emit({ type: 'run', data: { id: 'run-b', status: 'completed' } as Run });
    const last = await scrape();
    expect(last).toContain('forge_steps_total{run="run-b"} 1');
    const after = await scrape();
    expect(after).not.toContain('run="run-b"');
    expect(after).toContain('forge_loss{run="run-c"} 4'); // an unfinished run keeps its series
  });
});
