import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { CoordinatorApp } from './bootstrap';
import {
  deletePrefix,
  redisAvailable,
  startApp,
  TEST_TOKEN,
  testConfig,
  testPrefix,
} from './test-utils/harness';

/** A prepared dataset as POST /runs checks it: a directory with a manifest. */
const prepared = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-app-data-'));
fs.writeFileSync(path.join(prepared, 'manifest.json'), '{}');
afterAll(() => fs.rmSync(prepared, { recursive: true, force: true }));
const validRun = { data: { manifest: prepared }, steps: 5, workers: 1 };

describe('coordinator platform (e2e, Redis): auth, OpenAPI, health, restart', () => {
  let up = false;
  let prefix: string;
  const apps: CoordinatorApp[] = [];

  const start = async (overrides = {}): Promise<App> => {
    const built = await startApp(testConfig(prefix, overrides));
    apps.push(built);
    return built.app.getHttpServer() as App;
  };

  beforeAll(async () => {
    up = await redisAvailable();
  });
  beforeEach(() => {
    prefix = testPrefix();
  });
  afterEach(async () => {
    if (!up) return;
    for (const a of apps.splice(0)) await a.app.close();
    await deletePrefix(prefix);
  });

  it('requires the bearer token everywhere but /health, with a clear 401', async () => {
    if (!up) return;
    const server = await start();
    expect((await request(server).get('/health').expect(200)).body).toEqual({ status: 'ok', redis: 'up' });
    const missing = await request(server).get('/runs').expect(401);
    expect(missing.body.message).toBe(
      'missing Authorization header: send "Authorization: Bearer <FORGE_API_TOKEN>"',
    );
    const wrong = await request(server).post('/runs').set('Authorization', 'Bearer nope').send(validRun);
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('invalid API token');
    const malformed = await request(server).get('/runs').set('Authorization', TEST_TOKEN).expect(401);
    expect(malformed.body.message).toContain('malformed');
    await request(server).get('/openapi.json').expect(401);
    await request(server).get('/runs').set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200);
  });

  it('serves the OpenAPI document with the run endpoints and the body schema', async () => {
    if (!up) return;
    const server = await start();
    const doc = (
      await request(server).get('/openapi.json').set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200)
    ).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/runs',
        '/runs/{id}',
        '/runs/{id}/pause',
        '/runs/{id}/resume',
        '/runs/{id}/cancel',
        '/runs/{id}/checkpoints',
        '/health',
      ]),
    );
    const body = doc.paths['/runs'].post.requestBody.content['application/json'].schema;
    expect(body.required ?? []).toEqual([]); // {} is the quick start run
    expect(body.properties.optimizer.properties.lr.default).toBe(1e-3);
    expect(body.properties.steps.default).toBe(200);
    // Responses are described too: what a client reads of a finetune and of a worker.
    const ok = (route: string) => doc.paths[route].get.responses['200'].content['application/json'].schema;
    expect(ok('/finetunes/{id}').allOf[1].properties.evaluation.oneOf).toHaveLength(2);
    expect(ok('/workers').items.properties.state.enum).toEqual(['training', 'idle', 'lost']);
  });

  it('runs without auth only in local mode with auth explicitly disabled', async () => {
    if (!up) return;
    const server = await start({ localMode: true, authEnabled: false, apiToken: undefined });
    await request(server).post('/runs').send(validRun).expect(201);
    await request(server).get('/runs').expect(200);
  });

  it('serves the dashboard at / without the token, the API still behind it', async () => {
    if (!up) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-dash-'));
    try {
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>LLM Forge</title>');
      fs.mkdirSync(path.join(dir, 'assets'));
      fs.writeFileSync(path.join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
      fs.writeFileSync(path.join(dir, 'runs'), 'a file without an extension is never served'); // nor looked up
      const server = await start({ dashboardDir: dir });
      const page = await request(server).get('/').expect(200);
      expect(page.text).toContain('<title>LLM Forge</title>');
      expect(page.headers['cache-control']).toBe('no-cache');
      const asset = await request(server).get('/assets/app-1234.js').expect(200);
      expect(asset.headers['cache-control']).toContain('immutable');
      await request(server).get('/runs').expect(401);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mounts Bull Board at /queues behind the token (query once, then a cookie)', async () => {
    if (!up) return;
    const server = await start();
    const refused = await request(server).get('/queues').expect(401);
    expect(refused.body.message).toContain('/queues?token=');
    const page = await request(server).get(`/queues?token=${TEST_TOKEN}`).expect(200);
    expect(page.text).toContain('LLM Forge queues');
    const cookie = page.headers['set-cookie'] as unknown as string[];
    expect(cookie.join(';')).toMatch(/forge_token=.*HttpOnly/);
    const api = await request(server).get('/queues/api/queues').set('Cookie', cookie).expect(200);
    expect(JSON.stringify(api.body)).toContain('forge-steps');
  });

  it('keeps runs across a coordinator restart', async () => {
    if (!up) return;
    const first = await start();
    const authed = { Authorization: `Bearer ${TEST_TOKEN}` };
    const created = (await request(first).post('/runs').set(authed).send(validRun).expect(201)).body;
    await request(first).post(`/runs/${created.id}/pause`).set(authed).expect(200);
    const before = (await request(first).get(`/runs/${created.id}`).set(authed).expect(200)).body;
    await apps.pop()!.app.close();

    const second = await start();
    const after = (await request(second).get(`/runs/${created.id}`).set(authed).expect(200)).body;
    expect(after).toEqual(before);
    expect(after).toMatchObject({
      status: 'paused',
      spec: { data: { manifest: prepared }, steps: 5 },
    });
    expect((await request(second).get('/runs').set(authed).expect(200)).body).toHaveLength(1);
    await request(second).post(`/runs/${created.id}/resume`).set(authed).expect(200);
  });
});
