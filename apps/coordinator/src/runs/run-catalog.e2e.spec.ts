/** The experiment-tracking routes: figures in the list, tags/notes/archive, delete, metrics export. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import { TEST_TOKEN, useTestApp } from '../test-utils/harness';
import { RunsRepository } from './runs.repository';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('coordinator run catalog (e2e, Redis)', () => {
  const ctx = useTestApp();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-catalog-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const api = () => request(ctx.server);
  const create = async (body: object = {}): Promise<string> =>
    (
      await api()
        .post('/runs')
        .set(auth)
        .send({ steps: 4, ...body })
        .expect(201)
    ).body.id;

  /** Records three steps with evaluations after steps 1 and 3 (val 5.5, then 5.8). */
  async function recordSteps(id: string): Promise<void> {
    const repo = ctx.built!.app.get(RunsRepository);
    await repo.appendStep(id, { step: 0, loss: 7, lr: 1e-3, tokensPerSecond: 1000, stepMs: 500 });
    await repo.appendStep(
      id,
      { step: 1, loss: 6, lr: 1e-3, gradNorm: 0.9, tokensPerSecond: 3000, stepMs: 500 },
      { step: 2, trainLoss: 6, valLoss: 5.5 },
    );
    await repo.appendStep(
      id,
      { step: 2, loss: 5, lr: 5e-4, tokensPerSecond: 2000, stepMs: 1000 },
      { step: 3, trainLoss: 5, valLoss: 5.8 },
    );
  }

  it('lists each run with its best and final validation loss, duration, throughput and annotations', async () => {
    if (!ctx.up) return;
    const evaluated = await create();
    const fresh = await create();
    await recordSteps(evaluated);
    const list = (await api().get('/runs').set(auth).expect(200)).body as Record<string, unknown>[];
    const byId = new Map(list.map((r) => [r.id, r]));
    expect(byId.get(evaluated)).toMatchObject({
      bestValLoss: 5.5,
      finalValLoss: 5.8,
      tokensPerSecond: 2000,
      tags: [],
      notes: '',
      archived: false,
    });
    expect(byId.get(evaluated)!.durationSeconds).toEqual(expect.any(Number));
    expect(byId.get(fresh)).toMatchObject({ bestValLoss: null, finalValLoss: null, tokensPerSecond: null });
    const one = (await api().get(`/runs/${evaluated}`).set(auth).expect(200)).body;
    expect(one).toMatchObject({ bestValLoss: 5.5, finalValLoss: 5.8 });
    expect(one.metrics).toHaveLength(3);
  });

  it('lists a running run with its ETA, as GET /runs/:id has it', async () => {
    if (!ctx.up) return;
    const id = await create();
    await recordSteps(id);
    await ctx.built!.app.get(RunsRepository).transition(id, ['queued'], 'running');
    const listed = (await api().get('/runs').set(auth).expect(200)).body.find(
      (r: { id: string }) => r.id === id,
    );
    const one = (await api().get(`/runs/${id}`).set(auth).expect(200)).body;
    expect(one.etaSeconds).toEqual(expect.any(Number));
    expect(listed.etaSeconds).toBe(one.etaSeconds);
  });

  it('keeps tags, notes and the archived flag apart from the run record, and checks them', async () => {
    if (!ctx.up) return;
    const id = await create();
    const patched = await api()
      .patch(`/runs/${id}`)
      .set(auth)
      .send({ tags: ['baseline', 'lr-sweep', 'baseline'], notes: 'first try' })
      .expect(200);
    expect(patched.body).toMatchObject({
      id,
      tags: ['baseline', 'lr-sweep'],
      notes: 'first try',
      archived: false,
    });
    await api().patch(`/runs/${id}`).set(auth).send({ archived: true }).expect(200);
    const run = (await api().get(`/runs/${id}`).set(auth).expect(200)).body;
    expect(run).toMatchObject({ tags: ['baseline', 'lr-sweep'], notes: 'first try', archived: true });
    const hash = await ctx.built!.app.get(RunsRepository).get(id);
    expect(hash).not.toHaveProperty('tags');
    const bad = await api()
      .patch(`/runs/${id}`)
      .set(auth)
      .send({ tags: ['two words'] })
      .expect(400);
    expect(bad.body.issues[0].field).toBe('tags.0');
    await api().patch('/runs/run-nope').set(auth).send({ notes: 'x' }).expect(404);
  });

  it('deletes only a finished run, and its files only when asked', async () => {
    if (!ctx.up) return;
    const keepDir = path.join(tmp, 'keep');
    const dropDir = path.join(tmp, 'drop');
    const kept = await create({ out: keepDir });
    const dropped = await create({ out: dropDir });
    for (const dir of [keepDir, dropDir]) fs.mkdirSync(path.join(dir, 'step-000001'), { recursive: true });
    await api()
      .patch(`/runs/${kept}`)
      .set(auth)
      .send({ tags: ['x'] })
      .expect(200);

    const busy = await api().delete(`/runs/${kept}`).set(auth).expect(409);
    expect(busy.body.message).toMatch(/cannot delete run .*: it is queued/);
    for (const id of [kept, dropped]) await api().post(`/runs/${id}/cancel`).set(auth).expect(200);

    expect((await api().delete(`/runs/${kept}`).set(auth).expect(200)).body).toEqual({
      id: kept,
      deleted: true,
    });
    expect(fs.existsSync(path.join(keepDir, 'step-000001'))).toBe(true);
    const removed = await api().delete(`/runs/${dropped}?files=true`).set(auth).expect(200);
    expect(removed.body).toMatchObject({ id: dropped, deleted: true, removedDir: dropDir });
    expect(fs.existsSync(dropDir)).toBe(false);

    await api().get(`/runs/${kept}`).set(auth).expect(404);
    expect((await api().get('/runs').set(auth).expect(200)).body).toEqual([]);
    // no key of the deleted runs is left behind, annotations included
    const redis = ctx.built!.app.get(RunsRepository)['redis'] as import('ioredis').Redis;
    expect(await redis.keys(`${ctx.prefix}run*`)).toEqual([]);
  });

  it('describes the answers of the runs routes in the OpenAPI document', async () => {
    if (!ctx.up) return;
    const doc = (await api().get('/openapi.json').set(auth).expect(200)).body;
    const list = doc.paths['/runs'].get.responses['200'].content['application/json'].schema;
    const row = list.items.allOf[1].properties;
    expect(Object.keys(row)).toEqual(
      expect.arrayContaining(['bestValLoss', 'finalValLoss', 'durationSeconds', 'tags']),
    );
    expect(list.items.allOf[0].properties.status.enum).toContain('running');
    const detail = doc.paths['/runs/{id}'].get.responses['200'].content['application/json'].schema;
    expect(detail.allOf[1].properties.metrics.items.properties).toHaveProperty('gradNorm');
    expect(Object.keys(doc.paths['/runs/{id}/metrics'].get.responses['200'].content)).toEqual([
      'text/csv',
      'application/x-ndjson',
    ]);
  });

  it("streams a checkpoint's files for download, and nothing outside it", async () => {
    if (!ctx.up) return;
    const out = path.join(tmp, 'ckpts');
    const id = await create({ out });
    const step = path.join(out, 'step-000002');
    fs.mkdirSync(step, { recursive: true });
    const weights = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    fs.writeFileSync(path.join(step, 'model.safetensors'), weights);
    fs.writeFileSync(path.join(step, 'config.json'), '{"n_layer": 1}');
    fs.writeFileSync(path.join(out, 'secret.txt'), 'not a checkpoint file');
    const res = await api()
      .get(`/runs/${id}/checkpoints/step-000002/files/model.safetensors`)
      .set(auth)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(Buffer.compare(res.body as Buffer, weights)).toBe(0);
    expect(res.headers['content-disposition']).toContain(`${id}-step-000002-model.safetensors`);
    const files = `/runs/${id}/checkpoints`;
    await api().get(`${files}/step-000002/files/missing.bin`).set(auth).expect(404);
    await api().get(`${files}/step-000009/files/config.json`).set(auth).expect(404);
    await api().get(`${files}/step-000002/files/..%2Fsecret.txt`).set(auth).expect(404);
    await api().get(`${files}/..%2F/files/secret.txt`).set(auth).expect(404);
  });

  it('exports the metrics as CSV and JSON lines, one row per step', async () => {
    if (!ctx.up) return;
    const id = await create();
    await recordSteps(id);
    const csv = await api().get(`/runs/${id}/metrics?format=csv`).set(auth).expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toContain(`${id}-metrics.csv`);
    const lines = csv.text.trim().split('\n');
    const header = lines[0].split(',');
    expect(header.slice(0, 2)).toEqual(['step', 'loss']);
    expect(lines).toHaveLength(4);
    const row1 = Object.fromEntries(header.map((h, i) => [h, lines[2].split(',')[i]]));
    expect(row1).toMatchObject({ step: '1', loss: '6', gradNorm: '0.9', valLoss: '5.5', tokens: '2000' });
    const jsonl = await api().get(`/runs/${id}/metrics?format=jsonl`).set(auth).expect(200);
    const rows = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.step)).toEqual([0, 1, 2]);
    expect(rows[2]).toMatchObject({ loss: 5, valLoss: 5.8, tokens: 4000, elapsedSeconds: 2 });
    await api().get(`/runs/${id}/metrics?format=xml`).set(auth).expect(400);
    await api().get('/runs/run-nope/metrics').set(auth).expect(404);
  });
});
