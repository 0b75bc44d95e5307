/**
 * The worker registry against real Redis: records a previous coordinator left behind are judged by
 * their last heartbeat from the first moment (never put in a ring when stale), and lost workers are
 * removed after the retention period.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import IORedis from 'ioredis';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { CoordinatorApp } from '../bootstrap';
import type { CoordinatorConfig } from '../config/config.schema';
import { FakeWorker } from '../test-utils/fake-worker';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  startApp,
  testConfig,
  testPrefix,
  TEST_TOKEN,
} from '../test-utils/harness';
import { ControlPlaneServer } from './control-plane.server';
import { WorkerRetention } from './worker-retention.service';

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
const MINUTE = 60_000;

describe('worker liveness and retention (e2e, Redis)', () => {
  let up = false;
  let prefix = '';
  let built: CoordinatorApp | undefined;
  let redis: IORedis;
  let tmp = '';
  const workers: FakeWorker[] = [];

  beforeAll(async () => {
    up = await redisAvailable();
    if (up) redis = new IORedis(REDIS_URL);
  });
  afterAll(async () => {
    if (up) await redis.quit();
  });
  beforeEach(() => {
    prefix = testPrefix();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-workers-'));
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await built?.app.close();
    built = undefined;
    if (up) await deletePrefix(prefix);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Stores a worker record as a coordinator writes it (worker-registry.ts), last seen at `lastSeen`. */
  async function storeWorker(id: string, lastSeen: number): Promise<void> {
    await redis
      .multi()
      .hset(`${prefix}worker:${id}`, {
        id,
        sessionId: `session-${id}`,
        address: '127.0.0.1:1',
        pid: '1',
        hostname: 'gone',
        backend: 'cpu',
        registeredAt: new Date(lastSeen).toISOString(),
        lastSeen: String(lastSeen),
      })
      .sadd(`${prefix}workers`, id)
      .exec();
  }

  async function start(overrides: Partial<CoordinatorConfig> = {}): Promise<App> {
    built = await startApp(testConfig(prefix, overrides));
    return built.app.getHttpServer() as App;
  }

  async function startWorker(id: string): Promise<FakeWorker> {
    const worker = new FakeWorker(id, built!.app.get(ControlPlaneServer).port, prefix);
    await worker.start();
    workers.push(worker);
    return worker;
  }

  const workerStates = async (server: App) =>
    (
      (await request(server).get('/workers').set(auth).expect(200)).body as { id: string; state: string }[]
    ).map((w) => [w.id, w.state]);

  const workerGauge = async (server: App) => {
    const text = (await request(server).get('/metrics').expect(200)).text;
    const value = (state: string) =>
      Number(new RegExp(`forge_workers\\{state="${state}"\\} (\\d+)`).exec(text)?.[1]);
    return { alive: value('alive'), lost: value('lost') };
  };

  async function waitForRun(server: App, id: string, status: string): Promise<Record<string, unknown>> {
    for (;;) {
      const run = (await request(server).get(`/runs/${id}`).set(auth).expect(200)).body;
      if (run.status === status) return run;
      if (run.status === 'failed') throw new Error(`run failed: ${run.error}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('counts a stored worker silent past the timeout as lost from the start and never puts it in a ring', async () => {
    if (!up) return;
    // Left behind by an earlier coordinator (or cluster): last heard from 11 minutes ago.
    await storeWorker('w-stale', Date.now() - 11 * MINUTE);
    const server = await start();
    expect(await workerStates(server)).toEqual([['w-stale', 'lost']]);
    expect(await workerGauge(server)).toEqual({ alive: 0, lost: 1 });

    const created = await request(server)
      .post('/runs')
      .set(auth)
      .send({ data: { text: 'builtin:moby-dick' }, batchSize: 2, steps: 2, workers: 1, out: tmp })
      .expect(201);
    const fresh = await startWorker('w-fresh');
    const run = await waitForRun(server, created.body.id as string, 'completed');
    // Formed once, with the live worker only: a ring with w-stale would have been aborted and re-formed.
    expect(run.progress).toMatchObject({ step: 2, attempt: 0 });
    expect((run.members as { workerId: string }[]).map((m) => m.workerId)).toEqual(['w-fresh']);
    expect(fresh.jobs.map((j) => [j.step, j.attempt])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(await redis.hget(`${prefix}worker:w-stale`, 'assignment')).toBeNull();
  });

  it('removes workers lost for longer than the retention period, and the lost gauge drops', async () => {
    if (!up) return;
    const server = await start({ workerRetentionMs: 10 * MINUTE });
    await startWorker('w-live');
    await storeWorker('w-lost-recently', Date.now() - MINUTE);
    await storeWorker('w-lost-long-ago', Date.now() - 2 * 60 * MINUTE);
    await redis.sadd(`${prefix}workers`, 'w-no-record'); // an id whose record is gone
    expect(await workerGauge(server)).toEqual({ alive: 1, lost: 2 });

    const removed = await built!.app.get(WorkerRetention).sweep();
    expect(removed).toEqual(['w-lost-long-ago', 'w-no-record']);
    expect(await workerGauge(server)).toEqual({ alive: 1, lost: 1 });
    expect(await workerStates(server)).toEqual([
      ['w-live', 'idle'],
      ['w-lost-recently', 'lost'],
    ]);
    expect(await redis.exists(`${prefix}worker:w-lost-long-ago`)).toBe(0);
    expect(await redis.smembers(`${prefix}workers`)).toEqual(expect.not.arrayContaining(['w-no-record']));

    // Once the rest of its retention period has passed, the recently lost worker goes too.
    expect(await built!.app.get(WorkerRetention).sweep(Date.now() + 9 * MINUTE)).toEqual(['w-lost-recently']);
  });

  it('sweeps at most a minute apart, or as often as a shorter retention period', async () => {
    if (!up) return;
    await start({ workerRetentionMs: 5000 });
    expect(built!.app.get(WorkerRetention).intervalMs).toBe(5000);
    await built!.app.close();
    await start();
    expect(built!.app.get(WorkerRetention).intervalMs).toBe(MINUTE);
  });
});
