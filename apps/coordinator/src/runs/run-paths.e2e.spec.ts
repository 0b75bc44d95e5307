/**
 * Paths a request names, confined at submission (issue 14: `out` under /etc, a run deleting another
 * run's checkpoints, `data.text: /etc/passwd` trained to completion). Each refusal is a 400 naming
 * the field, before anything is stored or written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { CoordinatorConfig } from '../config/config.schema';
import { TEST_TOKEN, useTestAppFactory } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('request paths (e2e, Redis)', () => {
  const apps = useTestAppFactory();
  let tmp = '';
  let runsDir = '';
  let dataDir = '';
  let outside = '';

  beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'forge-paths-')));
    runsDir = path.join(tmp, 'runs');
    dataDir = path.join(tmp, 'data');
    outside = path.join(tmp, 'outside');
    for (const d of [runsDir, dataDir, outside]) fs.mkdirSync(d);
    for (const d of [dataDir, outside])
      fs.writeFileSync(path.join(d, 'text.txt'), 'Call me Ishmael. '.repeat(50));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const server = (overrides: Partial<CoordinatorConfig> = {}): Promise<App> =>
    apps.start({ runsDir, dataRoots: [dataDir], outputRoots: [], ...overrides });

  /** A model folder with a step checkpoint and `latest`, as a finished run leaves it. */
  function finishedRun(dir: string): string {
    const step = path.join(dir, 'step-000040');
    fs.mkdirSync(step, { recursive: true });
    fs.writeFileSync(path.join(step, 'config.json'), '{}');
    fs.writeFileSync(path.join(step, 'model.safetensors'), 'x');
    fs.writeFileSync(path.join(dir, 'latest'), 'step-000040\n');
    return step;
  }

  const fieldOf = (res: request.Response) => ({ status: res.status, field: res.body.issues?.[0]?.field });

  it('keeps out inside the runs directory or FORGE_OUTPUT_ROOTS', async () => {
    if (!apps.up) return;
    const app = await server();
    fs.symlinkSync(outside, path.join(runsDir, 'link'));
    for (const out of [
      '/etc/forge-run',
      path.join(runsDir, '..', 'outside', 'x'),
      path.join(runsDir, 'link', 'x'),
      runsDir,
    ]) {
      const res = await request(app).post('/runs').set(auth).send({ steps: 2, out });
      expect({ out, ...fieldOf(res) }).toEqual({ out, status: 400, field: 'out' });
    }
    expect(fs.readdirSync(outside)).toEqual(['text.txt']);
    const inside = await request(app)
      .post('/runs')
      .set(auth)
      .send({ steps: 2, out: path.join(runsDir, 'mine') });
    expect(inside.status).toBe(201);
    expect(inside.body.checkpointDir).toBe(path.join(runsDir, 'mine'));
    const allowed = await server({ outputRoots: [outside] });
    await request(allowed)
      .post('/runs')
      .set(auth)
      .send({ steps: 2, out: path.join(outside, 'model') })
      .expect(201);
  });

  it("never points a new run at another run's checkpoints, unless it resumes from them", async () => {
    if (!apps.up) return;
    const app = await server();
    const old = path.join(runsDir, 'old');
    const step = finishedRun(old);
    const res = await request(app).post('/runs').set(auth).send({ steps: 2, keepCheckpoints: 1, out: old });
    expect(fieldOf(res)).toEqual({ status: 400, field: 'out' });
    expect(res.body.issues[0].message).toMatch(/already holds checkpoints.*model\.resume/);
    expect(fs.readFileSync(path.join(old, 'latest'), 'utf8')).toBe('step-000040\n');

    // A directory a known run writes to, even before it holds a checkpoint.
    const first = path.join(runsDir, 'first');
    await request(app).post('/runs').set(auth).send({ steps: 2, out: first }).expect(201);
    const second = await request(app).post('/runs').set(auth).send({ steps: 2, out: first });
    expect(fieldOf(second)).toEqual({ status: 400, field: 'out' });
    expect(second.body.issues[0].message).toMatch(/another run writes its checkpoints/);

    const resumed = await request(app)
      .post('/runs')
      .set(auth)
      .send({ steps: 80, out: old, model: { init: step, resume: true } });
    expect(resumed.status).toBe(201);
  });

  it('reads inputs only from FORGE_DATA_ROOTS and the runs directory outside local mode', async () => {
    if (!apps.up) return;
    const app = await server();
    const model = finishedRun(path.join(outside, 'run'));
    fs.mkdirSync(path.join(outside, 'shards'));
    fs.writeFileSync(path.join(outside, 'shards', 'manifest.json'), '{}');
    for (const [body, field] of [
      [{ data: { text: '/etc/passwd' } }, 'data.text'],
      [{ data: { text: path.join(outside, 'text.txt') } }, 'data.text'],
      [{ data: { manifest: '/etc' } }, 'data.manifest'],
      [{ model: { init: model } }, 'model.init'],
    ] as const) {
      const res = await request(app)
        .post('/runs')
        .set(auth)
        .send({ steps: 2, ...body });
      expect({ body, ...fieldOf(res) }).toEqual({ body, status: 400, field });
    }
    const ok = await request(app)
      .post('/runs')
      .set(auth)
      .send({ steps: 2, data: { text: path.join(dataDir, 'text.txt') } });
    expect(ok.status).toBe(201);
    const finetune = (body: object) =>
      request(app)
        .post('/finetunes')
        .set(auth)
        .send({ kind: 'classification', preset: 'tiny', dataset: path.join(dataDir, 'text.txt'), ...body });
    expect(fieldOf(await finetune({ dataset: '/etc/passwd' }))).toEqual({ status: 400, field: 'dataset' });
    expect(fieldOf(await finetune({ preset: undefined, baseCheckpoint: model }))).toEqual({
      status: 400,
      field: 'baseCheckpoint',
    });
    await finetune({}).expect(201);
    const generate = await request(app)
      .post('/generate')
      .set(auth)
      .send({ checkpoint: model, prompt: 'Every effort', maxNewTokens: 1 });
    expect(fieldOf(generate)).toEqual({ status: 400, field: 'checkpoint' });
  });

  it("local mode reads the user's own files, but still writes only under the runs directory", async () => {
    if (!apps.up) return;
    const app = await server({ localMode: true, dataRoots: [] });
    await request(app)
      .post('/runs')
      .set(auth)
      .send({ steps: 2, data: { text: path.join(outside, 'text.txt') } })
      .expect(201);
    const res = await request(app)
      .post('/runs')
      .set(auth)
      .send({ steps: 2, out: path.join(outside, 'x') });
    expect(fieldOf(res)).toEqual({ status: 400, field: 'out' });
  });
});
