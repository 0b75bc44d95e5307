import request from 'supertest';
import { createApp } from '../bootstrap';
import { TEST_TOKEN, testConfig, useTestApp } from '../test-utils/harness';
import { RunsRepository } from './runs.repository';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
const validRun = { data: { text: 'builtin:moby-dick' }, steps: 4 };

describe('coordinator runs: metrics, concurrency, bad input (e2e, Redis)', () => {
  const ctx = useTestApp();

  it('returns the step metrics workers recorded', async () => {
    if (!ctx.up) return;
    const { id } = (await request(ctx.server).post('/runs').set(auth).send(validRun).expect(201)).body;
    const repo = ctx.built!.app.get(RunsRepository);
    await repo.appendMetrics(id, { step: 0, loss: 10.9, tokensPerSecond: 1200 });
    await repo.appendMetrics(id, { step: 1, loss: 9.7, tokensPerSecond: 1300, commMs: 4 });
    const run = (await request(ctx.server).get(`/runs/${id}`).set(auth).expect(200)).body;
    expect(run.metrics).toEqual([
      { step: 0, loss: 10.9, tokensPerSecond: 1200 },
      { step: 1, loss: 9.7, tokensPerSecond: 1300, commMs: 4 },
    ]);
  });

  it('lets exactly one of two concurrent actions win (atomic status change)', async () => {
    if (!ctx.up) return;
    const { id } = (await request(ctx.server).post('/runs').set(auth).send(validRun).expect(201)).body;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => request(ctx.server).post(`/runs/${id}/pause`).set(auth)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    expect(results.find((r) => r.status === 409)!.body.message).toContain('it is paused');
  });

  it('answers malformed JSON with 400', async () => {
    if (!ctx.up) return;
    const res = await request(ctx.server)
      .post('/runs')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"steps": ')
      .expect(400);
    expect(res.body.error).toBe('bad_request');
    const unauth = await request(ctx.server).get('/runs').expect(401);
    expect(unauth.body.error).toBe('unauthorized');
  });

  it('refuses to start when Redis does not answer, saying so', async () => {
    if (!ctx.up) return;
    await expect(createApp(testConfig(ctx.prefix, { redisUrl: 'redis://127.0.0.1:1' }))).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:1 does not answer .*set REDIS_URL/,
    );
  });
});
