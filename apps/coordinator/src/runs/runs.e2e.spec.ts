import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import { TEST_TOKEN, useTestApp } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
const validRun = { data: { text: 'corpus.txt' }, steps: 10, workers: 2, batchSize: 4 };

describe('coordinator runs API (e2e, Redis)', () => {
  const ctx = useTestApp();

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
        data: { text: path.resolve('corpus.txt'), valFraction: 0.1 },
        optimizer: {
          lr: 4e-4,
          minLr: 4e-5,
          warmupSteps: 0,
          schedule: 'cosine',
          weightDecay: 0.1,
          gradClip: 1,
        },
        batchSize: 4,
        workers: 2,
        checkpointEvery: 0,
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
    expect(await fieldsOf({ data: { text: 'a.txt' } })).toEqual(['steps']);
    expect(await fieldsOf({ ...validRun, optimizer: { lr: -1 } })).toEqual(['optimizer.lr']);
    expect(await fieldsOf({ ...validRun, data: { text: 'a', manifest: 'b' } })).toEqual(['data.manifest']);
    expect(await fieldsOf({ ...validRun, workers: 8 })).toEqual(['workers']);
    expect(await fieldsOf({ ...validRun, model: { preset: 'huge' } })).toEqual(['model.preset']);
    expect(await fieldsOf({ ...validRun, steps: 1.5 })).toEqual(['steps']);
    const res = await post('/runs', { ...validRun, optimizer: { schedule: 'linear' } }).expect(400);
    expect(res.body.message).toContain('optimizer.schedule');
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
