import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import { TEST_TOKEN, useTestApp } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-runs-api-'));
const corpus = path.join(tmp, 'corpus.txt');
const validRun = { data: { text: corpus }, steps: 10, workers: 2, batchSize: 4 };

describe('coordinator runs API (e2e, Redis)', () => {
  const ctx = useTestApp();
  beforeAll(() => fs.writeFileSync(corpus, 'Call me Ishmael.'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const post = (url: string, body?: object) => request(ctx.server).post(url).set(auth).send(body);
  const get = (url: string) => request(ctx.server).get(url).set(auth);

  it('creates, lists and gets a run with the defaults of forge train', async () => {
    if (!ctx.up) return;
    const created = await post('/runs', { ...validRun, name: 'tiny', bogus: 1 }).expect(201);
    expect(created.body).toMatchObject({
      name: 'tiny',
      status: 'queued',
      progress: { step: 0, totalSteps: 10, attempt: 0 },
      spec: {
        model: { preset: 'tiny', resume: false },
        data: { text: corpus, valFraction: 0.1 },
        optimizer: {
          lr: 1e-3,
          minLr: 1e-4,
          warmupSteps: 10,
          schedule: 'cosine',
          weightDecay: 0.1,
          gradClip: 1,
        },
        batchSize: 4,
        workers: 2,
        checkpointEvery: 100,
        seed: 123,
        shuffle: true,
      },
    });
    expect(created.body.spec).not.toHaveProperty('bogus');
    const id: string = created.body.id;
    expect(id).toMatch(/^run-/);

    const list = await get('/runs').expect(200);
    expect(list.body.map((r: { id: string }) => r.id)).toEqual([id]);
    const one = await get(`/runs/${id}`).expect(200);
    expect(one.body).toMatchObject({ id, status: 'queued', metrics: [] });
    const missing = await get('/runs/run-nope').expect(404);
    expect(missing.body).toMatchObject({ error: 'run_not_found', message: 'run run-nope does not exist' });
  });

  it('names the invalid fields', async () => {
    if (!ctx.up) return;
    const fieldsOf = async (body: object): Promise<string[]> => {
      const res = await post('/runs', body).expect(400);
      expect(res.body.error).toBe('validation_failed');
      return (res.body.issues as { field: string }[]).map((i) => i.field);
    };
    expect(await fieldsOf({ ...validRun, steps: 0 })).toEqual(['steps']);
    expect(await fieldsOf({ ...validRun, optimizer: { lr: -1 } })).toEqual(['optimizer.lr']);
    expect(await fieldsOf({ ...validRun, data: { text: 'a', manifest: 'b' } })).toEqual(['data.manifest']);
    expect(await fieldsOf({ ...validRun, workers: 8 })).toEqual(['workers']);
    expect(await fieldsOf({ ...validRun, model: { preset: 'huge' } })).toEqual(['model.preset']);
    expect(await fieldsOf({ ...validRun, steps: 1.5 })).toEqual(['steps']);
    const res = await post('/runs', { ...validRun, optimizer: { schedule: 'linear' } }).expect(400);
    expect(res.body.message).toContain('optimizer.schedule');
  });

  it('takes {} as the quick start run', async () => {
    if (!ctx.up) return;
    const created = await post('/runs', {}).expect(201);
    expect(created.body).toMatchObject({
      progress: { totalSteps: 200 },
      spec: {
        model: { preset: 'tiny' },
        data: { text: 'builtin:moby-dick' },
        batchSize: 8,
        workers: 1,
        optimizer: { lr: 1e-3, warmupSteps: 10 },
      },
    });
  });

  it('checks up front that the text, dataset and init checkpoint exist, naming the field', async () => {
    if (!ctx.up) return;
    const issue = async (body: object) => {
      const res = await post('/runs', body).expect(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.issues).toHaveLength(1);
      return res.body.issues[0] as { field: string; message: string };
    };
    expect(await issue({ data: { text: '/nonexistent/file.txt' } })).toEqual({
      field: 'data.text',
      message:
        '/nonexistent/file.txt: text file not found (give a UTF-8 text file, or builtin:moby-dick for the built-in corpus)',
    });
    expect(await issue({ data: { text: 'builtin:nope' } })).toMatchObject({ field: 'data.text' });
    expect(await issue({ data: { text: tmp } })).toMatchObject({
      field: 'data.text',
      message: expect.stringMatching(/is a directory, not a text file/),
    });
    expect(await issue({ data: { manifest: tmp } })).toMatchObject({
      field: 'data.manifest',
      message: expect.stringMatching(/has no manifest\.json/),
    });
    expect(await issue({ model: { init: path.join(tmp, 'none') } })).toMatchObject({
      field: 'model.init',
      message: expect.stringMatching(/does not exist/),
    });
    expect(await issue({ model: { init: 'run-nope/latest' } })).toMatchObject({
      field: 'model.init',
      message: 'run run-nope does not exist',
    });
    expect((await get('/runs').expect(200)).body).toEqual([]);
  });

  it('takes model.init as <runId>/latest and stores the checkpoint it names', async () => {
    if (!ctx.up) return;
    const out = path.join(tmp, 'first');
    const first = (await post('/runs', { ...validRun, out }).expect(201)).body as { id: string };
    const step = path.join(out, 'step-000010');
    fs.mkdirSync(step, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) fs.writeFileSync(path.join(step, f), '{}');
    const second = await post('/runs', { ...validRun, model: { init: `${first.id}/latest` } }).expect(201);
    expect(second.body.spec.model).toEqual({ init: step, resume: false });
    const byPath = await post('/runs', { ...validRun, model: { init: path.join(out, 'latest') } }).expect(
      201,
    );
    expect(byPath.body.spec.model.init).toBe(step);
  });

  it('walks the state machine and answers 409 naming the current state', async () => {
    if (!ctx.up) return;
    const { id } = (await post('/runs', validRun).expect(201)).body as { id: string };
    expect((await post(`/runs/${id}/pause`).expect(200)).body.status).toBe('paused');
    const again = await post(`/runs/${id}/pause`).expect(409);
    expect(again.body.message).toBe(
      `cannot pause run ${id}: it is paused (pause is allowed only when queued or running)`,
    );
    const resumed = await post(`/runs/${id}/resume`).expect(200);
    expect(resumed.body).toMatchObject({ status: 'queued', progress: { attempt: 0 } });
    expect((await post(`/runs/${id}/cancel`).expect(200)).body.status).toBe('cancelled');
    expect((await post(`/runs/${id}/resume`).expect(409)).body.message).toContain('it is cancelled');
    expect((await post(`/runs/${id}/cancel`).expect(409)).body.error).toBe('invalid_transition');
    await post('/runs/run-nope/pause').expect(404);
  });

  it("lists checkpoints from the run's directory (empty until workers write some)", async () => {
    if (!ctx.up) return;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-coord-'));
    try {
      const dir = path.join(out, 'ckpt');
      const { id } = (await post('/runs', { ...validRun, out: dir }).expect(201)).body as { id: string };
      expect((await get(`/runs/${id}/checkpoints`).expect(200)).body).toEqual([]);
      for (const [name, files] of [
        ['step-000020', ['config.json']],
        ['step-000010', ['config.json', 'model.safetensors']],
      ] as const) {
        fs.mkdirSync(path.join(dir, name), { recursive: true });
        for (const f of files) fs.writeFileSync(path.join(dir, name, f), '{}');
      }
      const list = (await get(`/runs/${id}/checkpoints`).expect(200)).body;
      expect(list).toMatchObject([
        { name: 'step-000010', step: 10, complete: true, latest: true, path: path.join(dir, 'step-000010') },
        { name: 'step-000020', step: 20, complete: false, latest: false },
      ]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
