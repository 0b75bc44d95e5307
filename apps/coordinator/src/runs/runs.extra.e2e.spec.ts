import request from 'supertest';
import type { App } from 'supertest/types';
import { createApp, type CoordinatorApp } from '../bootstrap';
import {
  deletePrefix,
  redisAvailable,
  startApp,
  TEST_TOKEN,
  testConfig,
  testPrefix,
} from '../test-utils/harness';
import { RunsRepository } from './runs.repository';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
const validRun = { data: { text: 'corpus.txt' }, steps: 4 };

describe('coordinator runs: metrics, concurrency, bad input (e2e, Redis)', () => {
  let up = false;
  let prefix: string;
  let built: CoordinatorApp | undefined;
  let server: App;

  beforeAll(async () => {
    up = await redisAvailable();
  });
  beforeEach(async () => {
    if (!up) return;
    prefix = testPrefix();
    built = await startApp(testConfig(prefix));
    server = built.app.getHttpServer() as App;
  });
  afterEach(async () => {
    if (!up) return;
    await built?.app.close();
    built = undefined;
    await deletePrefix(prefix);
  });

  it('returns the step metrics workers recorded', async () => {
    if (!up) return;
    const { id } = (await request(server).post('/runs').set(auth).send(validRun).expect(201)).body;
    const repo = built!.app.get(RunsRepository);
    await repo.appendMetrics(id, { step: 0, loss: 10.9, tokensPerSecond: 1200 });
    await repo.appendMetrics(id, { step: 1, loss: 9.7, tokensPerSecond: 1300, commMs: 4 });
    const run = (await request(server).get(`/runs/${id}`).set(auth).expect(200)).body;
    expect(run.metrics).toEqual([
      { step: 0, loss: 10.9, tokensPerSecond: 1200 },
      { step: 1, loss: 9.7, tokensPerSecond: 1300, commMs: 4 },
    ]);
  });

  it('lets exactly one of two concurrent actions win (atomic status change)', async () => {
    if (!up) return;
    const { id } = (await request(server).post('/runs').set(auth).send(validRun).expect(201)).body;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => request(server).post(`/runs/${id}/pause`).set(auth)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    expect(results.find((r) => r.status === 409)!.body.message).toContain('it is paused');
  });

  it('answers malformed JSON with 400', async () => {
    if (!up) return;
    const res = await request(server)
      .post('/runs')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"steps": ')
      .expect(400);
    expect(res.body.error).toBe('bad_request');
    const unauth = await request(server).get('/runs').expect(401);
    expect(unauth.body.error).toBe('unauthorized');
  });

  it('refuses to start when Redis does not answer, saying so', async () => {
    if (!up) return;
    await expect(createApp(testConfig(prefix, { redisUrl: 'redis://127.0.0.1:1' }))).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:1 does not answer .*set REDIS_URL/,
    );
  });
});
