/**
 * Issue 14's unbounded submissions, through the API: steps/batch/context beyond the limits (400
 * naming the field), bodies beyond FORGE_MAX_BODY_BYTES (413, not 500), and more queued jobs than
 * FORGE_MAX_QUEUED_JOBS (429, also for concurrent requests).
 */
import request from 'supertest';
import type { App } from 'supertest/types';
import type { CoordinatorConfig } from '../config/config.schema';
import { TEST_TOKEN, useTestAppFactory } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('submission limits (e2e, Redis)', () => {
  const apps = useTestAppFactory();

  const server = (overrides: Partial<CoordinatorConfig> = {}): Promise<App> => apps.start(overrides);

  it.each([
    [{ steps: 1e20 }, 'steps'],
    [{ steps: 1e300 }, 'steps'],
    [{ batchSize: 1e9 }, 'batchSize'],
    [{ contextLength: 1e9 }, 'contextLength'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    if (!apps.up) return;
    const res = await request(await server())
      .post('/runs')
      .set(auth)
      .send(body)
      .expect(400);
    expect(res.body.issues.map((i: { field: string }) => i.field)).toEqual([field]);
    expect(res.body.issues[0].message).toMatch(/must be at most/);
  });

  it("refuses a context longer than the preset's with 400, before any worker is given the run", async () => {
    if (!apps.up) return;
    const res = await request(await server())
      .post('/runs')
      .set(auth)
      .send({ model: { preset: 'small' }, contextLength: 512 })
      .expect(400);
    expect(res.body.issues).toHaveLength(1);
    expect(res.body.issues[0]).toMatchObject({
      field: 'contextLength',
      message: expect.stringMatching(/exceeds the small preset's context of 256/),
    });
  });

  it('answers 413 with the limit for a body over FORGE_MAX_BODY_BYTES, still 400 for malformed JSON', async () => {
    if (!apps.up) return;
    const app = await server({ maxBodyBytes: 4096 });
    for (const size of [200 * 1024, 10 * 1024 * 1024]) {
      const res = await request(app)
        .post('/runs')
        .set(auth)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ name: 'x', padding: 'p'.repeat(size) }));
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({
        statusCode: 413,
        error: 'payload_too_large',
        message: expect.stringMatching(/larger than the limit of 4096 bytes \(FORGE_MAX_BODY_BYTES\)/),
      });
    }
    const bad = await request(app)
      .post('/runs')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"steps": ');
    expect(bad.status).toBe(400);
    await request(app).post('/runs').set(auth).send({ steps: 2 }).expect(201);
  });

  it('refuses a job beyond FORGE_MAX_QUEUED_JOBS with 429, runs and finetunes alike, even at once', async () => {
    if (!apps.up) return;
    const app = await server({ maxQueuedJobs: 3 });
    const post = () => request(app).post('/runs').set(auth).send({ steps: 2 });
    // No worker is registered: every accepted run stays queued.
    const statuses = (await Promise.all(Array.from({ length: 8 }, post))).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429, 429, 429]);
    const refused = await post().expect(429);
    expect(refused.body).toMatchObject({
      error: 'queue_full',
      message: expect.stringMatching(/^3 runs and finetune jobs are already queued.*FORGE_MAX_QUEUED_JOBS=3/),
    });
    const finetune = await request(app)
      .post('/finetunes')
      .set(auth)
      .send({ kind: 'classification', preset: 'tiny', dataset: 'spamassassin' });
    expect(finetune.status).toBe(429);
    const runs = (await request(app).get('/runs').set(auth).expect(200)).body as Array<{ id: string }>;
    expect(runs).toHaveLength(3);
    await request(app).post(`/runs/${runs[0].id}/cancel`).set(auth).expect(200);
    await post().expect(201);
  });
});
