/**
 * `GET /events` with fake workers over the real control plane and BullMQ: a finetune job's changes
 * arrive as `event: finetune` (created, started, rank 0's progress with the history, completion with
 * the evaluation; cancel), next to the runs' `event: run`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import type { FinetuneEvent } from './job-events.service';
import type { Run } from '../runs/run.model';
import { EventStream } from '../test-utils/event-stream';
import { FakeWorker, fakeSuccess, useFakeWorkers } from '../test-utils/fake-worker';
import { TEST_TOKEN, useTestApp } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('GET /events (e2e, Redis)', () => {
  const ctx = useTestApp();
  const workers = useFakeWorkers(ctx);
  let tmp = '';
  let stream: EventStream | undefined;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-events-'));
  });
  afterEach(() => {
    stream?.close();
    stream = undefined;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Creates a one-worker classification finetune; returns its id. */
  async function createFinetune(): Promise<string> {
    const dataset = path.join(tmp, 'spam.csv');
    fs.writeFileSync(dataset, 'label,text\nspam,win money\nham,see you\n');
    const base = path.join(tmp, 'base');
    fs.mkdirSync(base);
    for (const f of ['config.json', 'model.safetensors']) fs.writeFileSync(path.join(base, f), '{}');
    const res = await request(ctx.server)
      .post('/finetunes')
      .set(auth)
      .send({
        kind: 'classification',
        baseCheckpoint: base,
        dataset,
        hyperparameters: { epochs: 1, batchSize: 4, lr: 1e-4, maxLength: 16 },
      })
      .expect(201);
    return res.body.id as string;
  }

  it('sends a finetune event when a job is created, starts, progresses and completes', async () => {
    if (!ctx.up) return;
    stream = await EventStream.open(ctx);
    const [w] = await workers.start('ev-a');
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    w.handle(async (job, worker) => {
      if (job.step === 1) await held;
      return fakeSuccess(job, worker.id);
    });
    const id = await createFinetune();
    const of = (status: string) => (f: FinetuneEvent) => f.id === id && f.status === status;

    const created = await stream.next('finetune', of('queued'), 'status queued');
    expect(created).toMatchObject({ kind: 'classification', progress: { step: 0, attempt: 0 } });
    expect(created.metrics).toEqual([]);
    const started = await stream.next('finetune', of('running'), 'status running');
    expect(started.members?.map((m) => m.workerId)).toEqual(['ev-a']);
    // GET /workers names the job and its kind (the dashboard links the worker to the finetune page)
    const listed = (await request(ctx.server).get('/workers').set(auth).expect(200)).body;
    expect(listed).toMatchObject([{ id: 'ev-a', state: 'training', jobId: id, kind: 'finetune', rank: 0 }]);

    const progressed = await stream.next(
      'finetune',
      (f: FinetuneEvent) => of('running')(f) && f.progress.step === 1,
      'rank 0 progress at step 1',
    );
    expect(progressed.progress).toMatchObject({ step: 1, totalSteps: 2 });
    expect(progressed.metrics).toEqual([{ step: 1, epoch: 1, trainLoss: 1 }]);

    release();
    const completed = await stream.next('finetune', of('completed'), 'status completed');
    expect(completed.progress).toMatchObject({ step: 2, totalSteps: 2 });
    expect(completed.metrics?.map((m) => m.step)).toEqual([1, 2]);
    expect(completed.evaluation).toMatchObject({ labels: ['ham', 'spam'], accuracy: { test: 0.5 } });
    expect(completed.modelDir).toBe(path.join(completed.outDir, 'model'));
  });

  it('sends the cancelled finetune, and runs on the same stream', async () => {
    if (!ctx.up) return;
    stream = await EventStream.open(ctx);
    const [w] = await workers.start('ev-c');
    w.handle(FakeWorker.untilAbortedThenFail);
    const id = await createFinetune();
    await stream.next(
      'finetune',
      (f: FinetuneEvent) => f.id === id && f.status === 'running',
      'status running',
    );
    await request(ctx.server).post(`/finetunes/${id}/cancel`).set(auth).expect(200);
    const cancelled = await stream.next(
      'finetune',
      (f: FinetuneEvent) => f.id === id && f.status === 'cancelled',
      'status cancelled',
    );
    expect(cancelled.stepJobId).toBeUndefined();
    // its rank was told to stop (and its handler returns)
    expect(await w.untilAborted(5000)).toMatch(/cancelled, paused or superseded/);

    const run = await request(ctx.server)
      .post('/runs')
      .set(auth)
      .send({ data: { text: 'builtin:moby-dick' }, steps: 1, out: tmp })
      .expect(201);
    await stream.next('run', (r: Run) => r.id === run.body.id, 'the new run');
  });
});
