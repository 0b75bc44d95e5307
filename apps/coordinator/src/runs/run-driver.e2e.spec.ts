import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import type { RankJobData } from '@llm-forge/cluster-protocol';
import { fakeSuccess, useFakeWorkers, type FakeWorker } from '../test-utils/fake-worker';
import { TEST_TOKEN, useTestApp } from '../test-utils/harness';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('run driver with workers over the control plane (e2e, Redis)', () => {
  const ctx = useTestApp();
  const workers = useFakeWorkers(ctx);
  let tmp = '';

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-driver-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const post = (url: string, body?: object) => request(ctx.server).post(url).set(auth).send(body);
  const get = (url: string) => request(ctx.server).get(url).set(auth);

  const startWorkers = workers.start;

  async function createRun(body: object): Promise<string> {
    const res = await post('/runs', {
      data: { text: 'builtin:moby-dick' },
      batchSize: 4,
      out: tmp,
      ...body,
    }).expect(201);
    return res.body.id as string;
  }

  async function waitFor(id: string, status: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = (await get(`/runs/${id}`).expect(200)).body;
      if (run.status === status) return run;
      if (Date.now() > deadline)
        throw new Error(`run is ${run.status} (${run.error ?? ''}), expected ${status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function fakeCheckpoint(step: number): string {
    const dir = path.join(tmp, `step-${String(step).padStart(6, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) fs.writeFileSync(path.join(dir, f), '{}');
    return dir;
  }

  it('waits for the workers a run asks for, then drives it step by step to the end', async () => {
    if (!ctx.up) return;
    const [a] = await startWorkers('w-a');
    const id = await createRun({ steps: 4, workers: 2, evalEvery: 2, checkpointEvery: 3 });
    await new Promise((r) => setTimeout(r, 400));
    expect((await get(`/runs/${id}`)).body.status).toBe('queued');
    const [b] = await startWorkers('w-b');
    const run = await waitFor(id, 'completed');
    expect(run.progress).toMatchObject({ step: 4, totalSteps: 4, attempt: 0 });
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3]);
    expect(run.metrics[3]).toMatchObject({ loss: 2.5, bytesSent: 200, workers: [{ rank: 0 }, { rank: 1 }] });
    expect(run.tokensSeen).toBe(4 * 4 * 16);
    const jobs = [...a.jobs, ...b.jobs];
    expect(jobs).toHaveLength(8);
    expect(new Set(jobs.map((j) => JSON.stringify(j.peers))).size).toBe(1);
    expect(jobs.every((j) => j.kind === 'run' && j.jobId === id)).toBe(true);
    const metrics = (await request(ctx.server).get('/metrics').expect(200)).text; // public, no token
    expect(metrics).toContain(`forge_steps_total{run="${id}"} 4`);
    expect(metrics).toContain('forge_runs{status="completed"} 1');
    expect(metrics).toMatch(/forge_loss\{run="[^"]+"\} 2\.5/);
    const listed = (await get('/workers').expect(200)).body;
    expect(listed.map((w: { id: string; state: string }) => [w.id, w.state])).toEqual([
      ['w-a', 'idle'],
      ['w-b', 'idle'],
    ]);
    // What each worker's heartbeats say it uses, and the log lines they carry.
    expect(listed[0]).toMatchObject({ cpuPercent: 12.5, rssBytes: 100_000_000 });
    a.logLines.push('{"msg":"step done","step":2}', '{"msg":"step done","step":3}');
    const deadline = Date.now() + 5000;
    let lines: string[] = [];
    while (lines.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      lines = (await get('/workers/w-a/logs?lines=10').expect(200)).body.lines;
    }
    expect(lines).toEqual(['{"msg":"step done","step":2}', '{"msg":"step done","step":3}']);
    await get('/workers/nobody/logs').expect(404);
  });

  it('re-runs a step that failed on a peer error, continuing from the replicas in memory', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('w-a', 'w-b');
    // A peer failure fails the all-reduce on every rank before anyone applies the update.
    const failedOnce = new Set<string>();
    for (const w of [a, b]) {
      w.handle((job, self) => {
        if (job.step === 2 && !failedOnce.has(self.id)) {
          failedOnce.add(self.id);
          return {
            ok: false,
            workerId: self.id,
            rank: job.rank,
            step: 2,
            appliedSteps: 2,
            kind: 'transient',
            error: 'peer timed out',
          };
        }
        return fakeSuccess(job, self.id);
      });
    }
    const id = await createRun({ steps: 4, workers: 2 });
    const run = await waitFor(id, 'completed');
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3]);
    const attempts = a.jobs.map((j) => [j.step, j.attempt, j.resumeFrom ?? null]);
    expect(attempts).toEqual([
      [0, 0, null],
      [1, 0, null],
      [2, 0, null],
      [2, 1, null],
      [3, 1, null],
    ]);
  });

  it('re-runs the step without a worker that stopped answering, with the global batch unchanged', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('w-a', 'w-b');
    b.handle(async (job, w) => {
      if (job.step === 2) {
        void w.kill(); // dies mid-step: no result, no heartbeats
        return new Promise(() => undefined);
      }
      return fakeSuccess(job, w.id);
    });
    const id = await createRun({ steps: 4, workers: 2 });
    const run = await waitFor(id, 'completed');
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3]);
    const last = a.jobs.at(-1) as RankJobData;
    expect(last).toMatchObject({ step: 3, worldSize: 1, rank: 0 });
    expect(last.resumeFrom).toBeUndefined(); // w-a held step 2 in memory
    expect(last.kind === 'run' && last.spec.batchSize).toBe(4);
    expect(run.members.map((m: { workerId: string }) => m.workerId)).toEqual(['w-a']);
  });

  it('forgets a worker that leaves cleanly at once, and forms no ring with it', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('w-a', 'w-b');
    await b.leave();
    const listed = (await get('/workers').expect(200)).body;
    expect(listed.map((w: { id: string }) => w.id)).toEqual(['w-a']);
    const id = await createRun({ steps: 2, workers: 1 });
    const run = await waitFor(id, 'completed');
    expect(run.members.map((m: { workerId: string }) => m.workerId)).toEqual(['w-a']);
    expect(a.jobs).toHaveLength(2);
    expect(b.jobs).toHaveLength(0);
  });

  it('rewinds to the newest usable checkpoint when the replicas are gone, skipping a corrupt one', async () => {
    if (!ctx.up) return;
    const [a] = await startWorkers('w-a');
    // Written once the run exists: a new run is refused a directory that already holds checkpoints.
    const id = await createRun({ steps: 5, workers: 1 });
    const older = fakeCheckpoint(1);
    const newer = fakeCheckpoint(2);
    let lost = false;
    a.handle((job, w) => {
      if (job.step === 3 && !lost) {
        lost = true; // e.g. the worker restarted: it holds nothing
        w.held = undefined;
        return {
          ok: false,
          workerId: w.id,
          rank: 0,
          step: 3,
          appliedSteps: null,
          kind: 'state',
          error: 'holds no replica',
        };
      }
      if (job.resumeFrom === newer) {
        return {
          ok: false,
          workerId: w.id,
          rank: 0,
          step: job.step,
          appliedSteps: null,
          kind: 'checkpoint',
          error: `${newer}/model.safetensors: truncated`,
          file: `${newer}/model.safetensors`,
        };
      }
      return fakeSuccess(job, w.id);
    });
    const run = await waitFor(id, 'completed');
    const trail = a.jobs.map((j) => [j.step, j.resumeFrom ?? null]);
    expect(trail).toEqual([
      [0, null],
      [1, null],
      [2, null],
      [3, null],
      [2, newer],
      [1, older],
      [2, null],
      [3, null],
      [4, null],
    ]);
    expect(run.badCheckpoints).toEqual([newer]);
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('fails the run with the rank, worker and file of a fatal error', async () => {
    if (!ctx.up) return;
    const [a] = await startWorkers('w-a');
    a.handle((job, w) =>
      job.step === 1
        ? {
            ok: false,
            workerId: w.id,
            rank: 0,
            step: 1,
            appliedSteps: 1,
            kind: 'fatal',
            error: '/data/shard-0001.bin: checksum mismatch',
            file: '/data/shard-0001.bin',
          }
        : fakeSuccess(job, w.id),
    );
    const id = await createRun({ steps: 3, workers: 1 });
    const run = await waitFor(id, 'failed');
    expect(run.error).toBe('step 1 failed: rank 0 (worker w-a): /data/shard-0001.bin: checksum mismatch');
  });

  it('pauses after the step in flight and resumes from a chosen checkpoint, keeping its evaluation', async () => {
    if (!ctx.up) return;
    const [a] = await startWorkers('w-a');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    a.handle(async (job, w) => {
      if (job.step === 2 && job.resumeFrom === undefined) await gate;
      // evalEvery 1: rank 0 evaluates after every step.
      const evaluated = { eval: { trainLoss: job.step + 1 }, sample: `after ${job.step + 1}` };
      const result = fakeSuccess(job, w.id);
      if (result.ok) Object.assign(result.steps[0], evaluated);
      return result;
    });
    const id = await createRun({ steps: 4, workers: 1, evalEvery: 1 });
    const ckpt = fakeCheckpoint(1); // after the run: a new run is refused a directory holding checkpoints
    while (!a.jobs.some((j) => j.step === 2)) await new Promise((r) => setTimeout(r, 20));
    expect((await post(`/runs/${id}/pause`).expect(200)).body.status).toBe('paused');
    release();
    await new Promise((r) => setTimeout(r, 300));
    const paused = (await get(`/runs/${id}`).expect(200)).body;
    expect(paused).toMatchObject({ status: 'paused', progress: { step: 3 } });
    await post(`/runs/${id}/resume`, { checkpoint: 'step-000009' }).expect(404);
    const resumed = (await post(`/runs/${id}/resume`, { checkpoint: 'step-000001' }).expect(200)).body;
    expect(resumed).toMatchObject({ status: 'queued', progress: { step: 1 }, resumeFrom: ckpt });
    const run = await waitFor(id, 'completed');
    expect(a.jobs.map((j) => j.step)).toEqual([0, 1, 2, 1, 2, 3]);
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3]);
    // The evaluation and sample after 1 step belong to the checkpoint resumed from: kept, not re-run.
    expect(run.evals.map((e: { step: number }) => e.step)).toEqual([1, 2, 3, 4]);
    expect(run.samples.map((e: { text: string }) => e.text)).toEqual([
      'after 1',
      'after 2',
      'after 3',
      'after 4',
    ]);
  });

  /** A fake rank's result in which each rank reports a loss of its own: the step's + its rank. */
  const ownLosses = (job: RankJobData, w: FakeWorker) => {
    const result = fakeSuccess(job, w.id);
    if (result.ok) {
      for (const s of result.steps) s.localLoss = s.loss = s.loss + job.rank;
    }
    return result;
  };
  const diloco = { steps: 10, workers: 2, evalEvery: 0, sync: { mode: 'diloco', innerSteps: 4 } };

  it('a DiLoCo run takes one flow per outer step, 4 + 4 + 2 inner steps, and records every step', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('w-a', 'w-b');
    for (const w of [a, b]) w.handle(ownLosses);
    const id = await createRun(diloco);
    const run = await waitFor(id, 'completed');
    for (const w of [a, b]) {
      expect(w.jobs.map((j) => [j.step, j.endStep])).toEqual([
        [0, 4],
        [4, 8],
        [8, 10],
      ]);
    }
    expect(run.progress).toMatchObject({ step: 10, totalSteps: 10, attempt: 0 });
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The mean of the ranks' own losses (10 / (s + 1) and that + 1), not rank 0's.
    run.metrics.forEach((m: { step: number; loss: number }) =>
      expect(m.loss).toBeCloseTo(10 / (m.step + 1) + 0.5),
    );
    expect(run.metrics[5].workers.map((w: { loss: number }) => w.loss)).toEqual([10 / 6, 10 / 6 + 1]);
    expect(run.tokensSeen).toBe(10 * 4 * 16);
    const metrics = (await request(ctx.server).get('/metrics').expect(200)).text;
    expect(metrics).toContain(`forge_steps_total{run="${id}"} 10`);
  });

  it('a DiLoCo flow that lost a worker is re-run from its outer step, by the survivor from memory', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('w-a', 'w-b');
    b.handle(async (job, w) => {
      if (job.step === 4) {
        void w.kill(); // dies during the inner steps: no result, no heartbeats
        return new Promise(() => undefined);
      }
      return fakeSuccess(job, w.id);
    });
    a.handle(async (job, w) => {
      if (job.step === 4 && job.worldSize === 2) {
        // Its outer all-reduce times out; the real worker then goes back to its last outer step.
        await new Promise((r) => setTimeout(r, 300));
        return {
          ok: false,
          workerId: w.id,
          rank: 0,
          step: 4,
          appliedSteps: 4,
          kind: 'transient',
          error: 'peer timed out',
        };
      }
      return fakeSuccess(job, w.id);
    });
    const id = await createRun(diloco);
    const run = await waitFor(id, 'completed');
    expect(a.jobs.map((j) => [j.step, j.endStep, j.worldSize, j.resumeFrom ?? null])).toEqual([
      [0, 4, 2, null],
      [4, 8, 2, null],
      [4, 8, 1, null], // w-a held step 4 in memory: no checkpoint needed
      [8, 10, 1, null],
    ]);
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(run.progress.step).toBe(10);
  });

  it('pausing a DiLoCo run stops its flow at the next inner step; resume re-runs that outer step from memory', async () => {
    if (!ctx.up) return;
    const [a, b] = await startWorkers('w-a', 'w-b');
    for (const w of [a, b]) {
      w.handle(async (job, self) => {
        if (job.step !== 4 || job.attempt > 0) return fakeSuccess(job, self.id);
        // Inner steps until the coordinator says the attempt is over, as a real rank checks between them.
        const reason = (await self.untilAborted()) ?? 'no abort';
        return {
          ok: false,
          workerId: self.id,
          rank: job.rank,
          step: 4,
          appliedSteps: 4,
          kind: 'transient',
          error: reason,
        };
      });
    }
    const id = await createRun(diloco);
    while (!a.jobs.some((j) => j.step === 4)) await new Promise((r) => setTimeout(r, 20));
    expect((await post(`/runs/${id}/pause`).expect(200)).body.status).toBe('paused');
    expect(await a.untilAborted(5000)).toMatch(/cancelled, paused or superseded/);
    await new Promise((r) => setTimeout(r, 300));
    const paused = (await get(`/runs/${id}`).expect(200)).body;
    expect(paused).toMatchObject({ status: 'paused', progress: { step: 4 }, retries: 0 });
    expect(paused.metrics).toHaveLength(4);
    await post(`/runs/${id}/resume`).expect(200);
    const run = await waitFor(id, 'completed');
    expect(a.jobs.map((j) => [j.step, j.endStep, j.attempt, j.resumeFrom ?? null])).toEqual([
      [0, 4, 0, null],
      [4, 8, 0, null],
      [4, 8, 1, null], // the replicas went back to step 4: no checkpoint needed
      [8, 10, 1, null],
    ]);
    expect(run.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('the retry budget of a whole job (e2e, Redis)', () => {
  const ctx = useTestApp({ maxJobRetries: 3 });
  const workers = useFakeWorkers(ctx);

  it('fails a run whose failures keep coming back, though no step fails too often by itself', async () => {
    if (!ctx.up) return;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-budget-'));
    try {
      const [a] = await workers.start('w-a');
      // Every step's first attempt fails; its second succeeds (1 retry per step, far below 5).
      const tried = new Set<number>();
      a.handle((job, w) => {
        if (tried.has(job.step)) return fakeSuccess(job, w.id);
        tried.add(job.step);
        return {
          ok: false,
          workerId: w.id,
          rank: 0,
          step: job.step,
          appliedSteps: job.step,
          kind: 'transient',
          error: 'peer reset',
        };
      });
      const res = await request(ctx.server)
        .post('/runs')
        .set(auth)
        .send({ data: { text: 'builtin:moby-dick' }, batchSize: 4, steps: 10, workers: 1, out })
        .expect(201);
      const deadline = Date.now() + 15_000;
      let run = (await request(ctx.server).get(`/runs/${res.body.id}`).set(auth)).body;
      while (run.status !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        run = (await request(ctx.server).get(`/runs/${res.body.id}`).set(auth)).body;
      }
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(
        /^4 failed attempts over the run \(FORGE_MAX_JOB_RETRIES is 3\); last, at step 3: /,
      );
      expect(run.progress.step).toBe(3);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('the deadline of a DiLoCo flow (e2e, Redis)', () => {
  const ctx = useTestApp({ stepTimeoutMs: 400 });
  const workers = useFakeWorkers(ctx);

  it('is FORGE_STEP_TIMEOUT_MS per inner step: a flow of 4 steps may take 4 times as long as one', async () => {
    if (!ctx.up) return;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-deadline-'));
    try {
      const [a] = await workers.start('w-a');
      a.handle(async (job, w) => {
        await new Promise((r) => setTimeout(r, 900)); // past 400 ms, within 4 x 400 ms
        return fakeSuccess(job, w.id);
      });
      const res = await request(ctx.server)
        .post('/runs')
        .set(auth)
        .send({
          data: { text: 'builtin:moby-dick' },
          batchSize: 4,
          steps: 4,
          workers: 1,
          out,
          sync: { mode: 'diloco', innerSteps: 4 },
        })
        .expect(201);
      const deadline = Date.now() + 15_000;
      let run = (await request(ctx.server).get(`/runs/${res.body.id}`).set(auth)).body;
      while (run.status !== 'completed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        run = (await request(ctx.server).get(`/runs/${res.body.id}`).set(auth)).body;
      }
      expect(run).toMatchObject({ status: 'completed', progress: { step: 4, attempt: 0 } });
      expect(a.jobs.map((j) => [j.step, j.endStep])).toEqual([[0, 4]]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
