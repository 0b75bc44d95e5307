/**
 * Finetune jobs through the coordinator's one job engine, with fake workers over the real control
 * plane and BullMQ: the REST contract, one step per flow like a run, the worker pool shared with
 * pretraining, progress, cancel (a running final evaluation told to stop by heartbeat), a lost
 * worker (the job re-formed on another, continuing from the replica in memory or its saved state),
 * and failures.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import type { RankResult } from '@llm-forge/cluster-protocol';
import { FakeWorker, fakeSuccess, useFakeWorkers } from '../test-utils/fake-worker';
import IORedis from 'ioredis';
import { REDIS_URL, TEST_TOKEN, useTestApp } from '../test-utils/harness';
import type { FinetuneDetail } from './finetune.model';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

/** The jobs' output directories (`<runsDir>/finetunes/<id>`): a temporary folder, not the checkout. */
const RUNS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-finetune-runs-'));
afterAll(() => fs.rmSync(RUNS_DIR, { recursive: true, force: true }));

describe('finetune jobs (e2e, Redis)', () => {
  const ctx = useTestApp({ runsDir: RUNS_DIR });
  const workers = useFakeWorkers(ctx);
  let tmp = '';
  let dataset = '';
  let base = '';

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-finetunes-'));
    dataset = path.join(tmp, 'spam.csv');
    fs.writeFileSync(dataset, 'label,text\nspam,win money\nham,see you\n');
    base = path.join(tmp, 'base');
    fs.mkdirSync(base);
    for (const f of ['config.json', 'model.safetensors']) fs.writeFileSync(path.join(base, f), '{}');
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const post = (url: string, body?: object) => request(ctx.server).post(url).set(auth).send(body);
  const get = (url: string) => request(ctx.server).get(url).set(auth);

  const startWorkers = workers.start;

  async function create(body: object = {}): Promise<string> {
    const res = await post('/finetunes', {
      kind: 'classification',
      baseCheckpoint: base,
      dataset,
      hyperparameters: { epochs: 1, batchSize: 4, lr: 1e-4, maxLength: 16 },
      ...body,
    }).expect(201);
    return res.body.id as string;
  }

  async function waitFor(id: string, predicate: (job: FinetuneDetail) => boolean, what: string) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const job = (await get(`/finetunes/${id}`).expect(200)).body as FinetuneDetail;
      if (predicate(job)) return job;
      if (Date.now() > deadline)
        throw new Error(`finetune is ${job.status} (${job.error ?? ''}), expected ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const status = (s: string) => (job: FinetuneDetail) => job.status === s;

  it('runs a job on the requested workers, one step per flow, and reports metrics and evaluation', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('ft-a', 'ft-b');
    const id = await create({ workers: 2 });
    const job = await waitFor(id, status('completed'), 'completed');
    expect(job).toMatchObject({
      kind: 'classification',
      baseCheckpoint: base,
      dataset,
      progress: { step: 2, totalSteps: 2, attempt: 0 },
      trainableParameters: 10,
      modelDir: path.join(job.outDir, 'model'),
    });
    expect(job.metrics.map((m: { step: number }) => m.step)).toEqual([1, 2]);
    expect(job.evaluation).toMatchObject({ labels: ['ham', 'spam'], accuracy: { test: 0.5 } });
    const ranks = [...a.finetunes, ...b.finetunes].map((j) => [j.step, j.rank, j.worldSize]);
    expect(ranks.sort()).toEqual([
      [0, 0, 2],
      [0, 1, 2],
      [1, 0, 2],
      [1, 1, 2],
    ]);
    expect(a.finetunes[0].spec).toMatchObject({ baseCheckpoint: base, dataset, train: 'last-block' });
    const list = (await get('/finetunes').expect(200)).body;
    expect(list.map((j: { id: string }) => j.id)).toEqual([id]);
    // the workers are free again: a pretraining run can use them
    const workersNow = (await get('/workers').expect(200)).body;
    expect(workersNow.every((w: { state: string }) => w.state === 'idle')).toBe(true);
    const metrics = (await request(ctx.server).get('/metrics').expect(200)).text; // public, no token
    expect(metrics).toContain('forge_finetunes{status="completed"} 1');
    expect(metrics).toContain('forge_workers{state="alive"} 2');
  });

  it("follows rank 0's progress step by step while the job runs", async () => {
    if (!ctx.up) return;
    const [w] = await startWorkers('ft-p');
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    w.handle(async (job, worker) => {
      if (job.step === 3) await held;
      const result = fakeSuccess(job, worker.id);
      const report = result.ok ? result.steps[0].finetune : undefined;
      if (report) report.totalSteps = 10;
      if (job.step < 9) delete report?.evaluation;
      return result;
    });
    const id = await create();
    const running = await waitFor(id, (j) => j.progress.step === 3, 'progress at step 3');
    expect(running).toMatchObject({ status: 'running', progress: { step: 3, totalSteps: 10, epoch: 1 } });
    expect(running.metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    release();
    await waitFor(id, status('completed'), 'completed');
  });

  it('cancel stops a running job: its worker is told by heartbeat and freed', async () => {
    if (!ctx.up) return;
    const [w] = await startWorkers('ft-c');
    w.handle(FakeWorker.untilAbortedThenFail);
    const id = await create();
    await waitFor(id, status('running'), 'running');
    await waitFor(id, () => w.runningJob !== '', 'the worker to start');
    const cancelled = (await post(`/finetunes/${id}/cancel`).expect(200)).body;
    expect(cancelled.status).toBe('cancelled');
    expect(await w.untilAborted(5000)).toMatch(/cancelled, paused or superseded/);
    await post(`/finetunes/${id}/cancel`).expect(409);
    expect((await get(`/finetunes/${id}`)).body.status).toBe('cancelled');
  });

  it('a lost worker: the job is re-formed on another worker as a new attempt, from its saved state', async () => {
    if (!ctx.up) return;
    const [first] = await startWorkers('ft-l1');
    // Step 0 completes; step 1 hangs, then the process dies.
    first.handle((job, worker) =>
      job.step === 0 ? fakeSuccess(job, worker.id) : new Promise<RankResult>(() => undefined),
    );
    const id = await create();
    const job0 = await waitFor(
      id,
      () => first.runningJob !== '' && first.jobs.length === 2,
      'step 1 to start',
    );
    // Rank 0 saved a state after step 1 (what a real worker writes every checkpointEvery steps).
    const state = path.join(job0.outDir, 'state', 'step-000001');
    fs.mkdirSync(state, { recursive: true });
    for (const f of ['trainer.safetensors', 'state.json']) fs.writeFileSync(path.join(state, f), '{}');
    await first.kill();
    workers.list.splice(workers.list.indexOf(first), 1);
    const [second] = await startWorkers('ft-l2');
    const job = await waitFor(id, status('completed'), 'completed');
    expect(job.progress.attempt).toBe(1);
    // The new worker holds nothing: it starts step 1 from the saved state.
    expect(second.finetunes.map((j) => [j.step, j.attempt, j.resumeFrom])).toEqual([[1, 1, state]]);
    expect(job.metrics.map((m) => m.step)).toEqual([1, 2]);
  });

  it('Redis losing everything mid-job: the job is restored and finishes on a new attempt', async () => {
    if (!ctx.up) return;
    const [w] = await startWorkers('ft-r');
    let calls = 0;
    w.handle(async (job, worker) => {
      // the first attempt runs until the coordinator says stop (after the loss, nobody knows it)
      if (++calls === 1) return FakeWorker.untilAbortedThenFail(job, worker);
      return fakeSuccess(job, worker.id);
    });
    const id = await create();
    await waitFor(id, () => w.runningJob !== '', 'the worker to start');
    const redis = new IORedis(REDIS_URL);
    try {
      const keys = await redis.keys(`${ctx.prefix}*`);
      if (keys.length > 0) await redis.del(...keys); // what a restart without persistence does
    } finally {
      redis.disconnect();
    }
    // the next pass of the driver writes it back
    const restoredBy = Date.now() + 5000;
    while ((await get(`/finetunes/${id}`)).status === 404 && Date.now() < restoredBy)
      await new Promise((r) => setTimeout(r, 50));
    const job = await waitFor(id, status('completed'), 'completed after the restore');
    // restored as a new attempt: the rank still running the old one was told to stop
    expect(job.progress.attempt).toBeGreaterThanOrEqual(1);
    expect(w.aborts[0]).toMatch(/cancelled, paused or superseded/);
  });

  it('a transient failure is retried; a fatal one fails the job with the rank error', async () => {
    if (!ctx.up) return;
    const [w] = await startWorkers('ft-f');
    let calls = 0;
    w.handle((job, worker) => {
      calls++;
      if (calls === 1)
        return {
          ok: false,
          workerId: worker.id,
          rank: job.rank,
          step: job.step,
          appliedSteps: null,
          kind: 'transient',
          error: 'peer timed out',
        };
      return fakeSuccess(job, worker.id);
    });
    const ok = await waitFor(await create(), status('completed'), 'completed');
    expect(ok.progress.attempt).toBe(1);
    w.handle((job, worker) => ({
      ok: false,
      workerId: worker.id,
      rank: job.rank,
      step: job.step,
      appliedSteps: null,
      kind: 'fatal',
      error: `${dataset}:3: expected label,text`,
    }));
    const failed = await waitFor(await create(), status('failed'), 'failed');
    expect(failed.error).toContain(`${dataset}:3: expected label,text`);
  });

  it('a worker in a finetune is not given to a pretraining run until the finetune ends', async () => {
    if (!ctx.up) return;
    const [w] = await startWorkers('ft-s');
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    w.handle(async (job, worker) => {
      await held;
      return fakeSuccess(job, worker.id);
    });
    const id = await create();
    await waitFor(id, status('running'), 'running');
    const run = (await post('/runs', { data: { text: 'builtin:moby-dick' }, steps: 1, out: tmp }).expect(201))
      .body;
    await new Promise((r) => setTimeout(r, 600));
    expect((await get(`/runs/${run.id}`)).body.status).toBe('queued');
    release();
    await waitFor(id, status('completed'), 'completed');
    const deadline = Date.now() + 10_000;
    while ((await get(`/runs/${run.id}`)).body.status !== 'completed' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect((await get(`/runs/${run.id}`)).body.status).toBe('completed');
  });

  it('refuses bad requests with the field named', async () => {
    if (!ctx.up) return;
    const bad = async (body: object, field: string, message: RegExp) => {
      const res = await post('/finetunes', body).expect(400);
      const issue = res.body.issues.find((i: { field: string }) => i.field === field);
      expect(issue?.message).toMatch(message);
    };
    await bad({ kind: 'classification', dataset }, 'baseCheckpoint', /exactly one of baseCheckpoint/);
    await bad(
      { kind: 'classification', baseCheckpoint: path.join(tmp, 'nope'), dataset },
      'baseCheckpoint',
      /does not exist/,
    );
    await bad(
      { kind: 'classification', baseCheckpoint: 'relative/dir/x', dataset },
      'baseCheckpoint',
      /absolute/,
    );
    await bad(
      { kind: 'classification', baseCheckpoint: 'run-x/step-000001', dataset },
      'baseCheckpoint',
      /run-x/,
    );
    await bad(
      { kind: 'classification', baseCheckpoint: base, dataset: 'spam.csv' },
      'dataset',
      /absolute path/,
    );
    await bad(
      { kind: 'classification', baseCheckpoint: base, dataset: path.join(tmp, 'none.csv') },
      'dataset',
      /does not exist/,
    );
    await bad(
      { kind: 'instruction', preset: 'tiny', dataset: 'spamassassin' },
      'dataset',
      /classification dataset/,
    );
    await get('/finetunes/ft-missing').expect(404);
    await post('/finetunes/ft-missing/cancel').expect(404);
    await request(ctx.server).get('/finetunes').expect(401);
  });

  it('refuses a base checkpoint of another vocabulary, or shorter than maxLength, naming it', async () => {
    if (!ctx.up) return;
    const other = path.join(tmp, 'other-vocab');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'config.json'), JSON.stringify({ vocab_size: 1000, n_positions: 64 }));
    fs.writeFileSync(path.join(other, 'model.safetensors'), '');
    const res = await post('/finetunes', { kind: 'classification', baseCheckpoint: other, dataset }).expect(
      400,
    );
    expect(res.body.issues[0]).toMatchObject({
      field: 'baseCheckpoint',
      message: expect.stringMatching(/1000 tokens, not GPT-2's 50257/),
    });
    fs.writeFileSync(path.join(other, 'config.json'), JSON.stringify({ vocab_size: 50257, n_positions: 64 }));
    const short = await post('/finetunes', {
      kind: 'classification',
      baseCheckpoint: other,
      dataset,
      hyperparameters: { maxLength: 128 },
    }).expect(400);
    expect(short.body.issues[0]).toMatchObject({
      field: 'hyperparameters.maxLength',
      message: expect.stringMatching(/context length 64/),
    });
  });

  it('accepts a run checkpoint as <runId>/<checkpoint>', async () => {
    if (!ctx.up) return;
    const run = (await post('/runs', { data: { text: 'builtin:moby-dick' }, steps: 1, out: tmp }).expect(201))
      .body;
    const ckpt = path.join(tmp, 'step-000001');
    fs.mkdirSync(ckpt);
    for (const f of ['config.json', 'model.safetensors']) fs.writeFileSync(path.join(ckpt, f), '{}');
    const res = await post('/finetunes', {
      kind: 'classification',
      baseCheckpoint: `${run.id}/step-000001`,
      dataset: 'spamassassin',
    }).expect(201);
    expect(res.body).toMatchObject({
      baseCheckpoint: `${run.id}/step-000001`,
      spec: { baseCheckpoint: ckpt },
    });
  });
});
