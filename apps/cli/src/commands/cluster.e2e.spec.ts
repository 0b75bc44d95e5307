/**
 * The whole system on this machine: `forge cluster up` (a real coordinator and two worker processes,
 * built by `npm ci`), `forge submit pretrain`, and faults injected while the run trains — a worker
 * killed mid-run, the coordinator killed and brought back, Redis restarted without persistence. The
 * run must finish, and every step's loss must equal `forge train`'s on one process.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GPTModel, saveModel } from '@llm-forge/gpt';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { maxAbsDiff, TEST_CONFIG } from '@llm-forge/gpt/testing';
import { CoordinatorApi } from '../cluster/api-client';
import { readClusterState } from '../cluster/cluster-state';
import { freePort } from '../cluster/local-cluster';
import { runForge } from '../test-utils/run-forge';

const TEXT = 'Every effort moves you forward, and every step of the way counts for something. '.repeat(80);
const STEPS = 14;

function missingPrerequisite(): string | undefined {
  for (const pkg of ['coordinator', 'worker']) {
    const main = path.join(__dirname, '..', '..', '..', pkg, 'dist', 'main.js');
    if (!fs.existsSync(main)) return `${main} is not built (npm run build)`;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) return 'redis-server is not installed';
  return undefined;
}

const skip = missingPrerequisite();
const describeSystem = skip ? describe.skip : describe;
if (skip) console.warn(`SKIPPING the cluster end-to-end test: ${skip}`);

/** A private Redis (no persistence, like the project's) that the test can restart. */
class PrivateRedis {
  private process?: ChildProcess;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 50; i++) {
      if (
        spawnSync('redis-cli', ['-p', String(this.port), 'ping'])
          .stdout?.toString()
          .includes('PONG')
      )
        return;
      await sleep(100);
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  }
}

/** Keys of the private Redis that match `pattern`, sorted. */
function redisKeys(port: number, pattern: string): string[] {
  const out =
    spawnSync('redis-cli', ['-p', String(port), '--scan', '--pattern', pattern]).stdout?.toString() ?? '';
  return out.split('\n').filter(Boolean).sort();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describeSystem('a local cluster under faults (real processes)', () => {
  let tmp = '';
  let redis: PrivateRedis;
  /** Redis prefix of the first test's cluster (empty when that test did not get so far). */
  let firstPrefix = '';
  /** The first test's run and killed worker (empty when that test did not get so far). */
  let firstRunId = '';
  let killedWorker = '';
  const env = { ...process.env };

  beforeAll(async () => {
    await initBackend(process.env.FORGE_BACKEND ?? 'auto');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-cluster-'));
    redis = new PrivateRedis(await freePort());
    await redis.start();
    process.env.REDIS_URL = `redis://127.0.0.1:${redis.port}`;
    process.env.FORGE_HOME = path.join(tmp, '.forge');
    process.env.FORGE_HEARTBEAT_MS = '300';
    process.env.FORGE_WORKER_TIMEOUT_MS = '2500';
    process.env.FORGE_COLLECTIVE_TIMEOUT_MS = '4000';
    process.env.LOG_LEVEL = 'info';
  });

  afterAll(async () => {
    if (readClusterState()) await runForge('cluster', 'down');
    await redis?.stop();
    Object.assign(process.env, env);
    for (const key of [
      'REDIS_URL',
      'FORGE_HOME',
      'FORGE_HEARTBEAT_MS',
      'FORGE_WORKER_TIMEOUT_MS',
      'FORGE_COLLECTIVE_TIMEOUT_MS',
    ]) {
      if (!(key in env)) delete process.env[key];
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finishes a run with the single-process losses through a worker kill, a coordinator restart and a Redis restart', async () => {
    const text = path.join(tmp, 'text.txt');
    fs.writeFileSync(text, TEXT);
    const init = path.join(tmp, 'init');
    const model = GPTModel.random({ ...TEST_CONFIG, embDim: 16, nHeads: 2, nLayers: 1 }, 7);
    saveModel(init, model.config, model.readParameters());
    model.dispose();
    const flags = [
      '--text',
      text,
      '--init',
      init,
      '--batch-size',
      '4',
      '--steps',
      String(STEPS),
      '--no-shuffle',
      '--lr',
      '0.01',
      '--eval-every',
      '0',
    ];

    const up = await runForge(
      'cluster',
      'up',
      '--workers',
      '2',
      '--port',
      '0',
      '--runs-dir',
      path.join(tmp, 'runs'),
      '--json',
    );
    expect(up.stderr).not.toMatch(/^forge: /m);
    expect(up.code).toBe(0);
    expect(up.json).toMatchObject({ workers: [{ state: 'idle' }, { state: 'idle' }] });
    // The cluster's own key prefix, used by the coordinator and the workers alike.
    const prefix = up.json.redis_prefix as string;
    expect(prefix).toMatch(/^forge:[0-9a-f]{8}:$/);
    firstPrefix = prefix;
    const ids = (up.json.workers as { id: string }[]).map((w) => w.id).sort();
    expect(redisKeys(redis.port, `${prefix}worker:*`)).toEqual(ids.map((id) => `${prefix}worker:${id}`));
    const status = await runForge('cluster', 'status', '--json');
    expect(status.json).toMatchObject({
      api_url: up.json.api_url,
      redis_prefix: prefix,
      workers: [{ pid: expect.any(Number) }, { pid: expect.any(Number) }],
    });

    const submitted = await runForge('submit', 'pretrain', ...flags, '--checkpoint-every', '3', '--json');
    expect(submitted.code).toBe(0);
    const runId = submitted.json.run_id as string;
    firstRunId = runId;
    const state = readClusterState()!;
    const api = () => new CoordinatorApi(readClusterState()!.apiUrl, state.token);
    const losses = new Map<number, number>();
    const stepNow = async () => {
      try {
        const run = await api().run(runId);
        for (const m of run.metrics ?? []) losses.set(m.step, m.loss);
        return { step: run.progress.step, status: run.status, error: run.error };
      } catch {
        return { step: -1, status: 'unreachable', error: undefined };
      }
    };
    const waitForStep = async (step: number, timeoutMs = 120_000, status?: string) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await stepNow();
        if (now.status === 'failed') throw new Error(`run failed: ${now.error}`);
        if ((now.step >= step && (!status || now.status === status)) || now.status === 'completed')
          return now;
        if (Date.now() > deadline)
          throw new Error(`run at step ${now.step} (${now.status}), waited for ${step}`);
        await sleep(100);
      }
    };

    // 1. A worker dies mid-run: the step is re-run by the survivor.
    await waitForStep(3);
    killedWorker = state.workers[1].id;
    process.kill(state.workers[1].pid, 'SIGKILL');
    // 2. The coordinator dies; `forge cluster up` brings it back with the same ports and secrets.
    await waitForStep(6);
    process.kill(state.coordinator.pid, 'SIGKILL');
    await sleep(500);
    const repaired = await runForge('cluster', 'up', '--json');
    expect(repaired.code).toBe(0);
    expect(repaired.json.redis_prefix).toBe(prefix); // the same cluster: same runs, same workers
    // 3. Redis restarts and forgets everything: the coordinator restores the run, the worker re-registers.
    await waitForStep(9);
    await redis.stop();
    await sleep(500);
    await redis.start();
    const end = await waitForStep(STEPS, 180_000, 'completed');
    expect(end.status).toBe('completed');
    await stepNow();

    const single = await runForge('train', ...flags, '--out', path.join(tmp, 'single'), '--json');
    expect(single.code).toBe(0);
    const reference = single.json.step_losses as number[];
    expect(losses.size).toBeGreaterThan(0);
    for (const [step, loss] of losses) expect(Math.abs(loss - reference[step])).toBeLessThan(1e-4);
    const checkpoints = fs.readdirSync(path.join(tmp, 'runs', runId)).filter((n) => n.startsWith('step-'));
    expect(checkpoints).toContain(`step-${String(STEPS).padStart(6, '0')}`);
    expect(checkpoints.length).toBeLessThanOrEqual(3);

    // The faults did happen, and the coordinator saw each one.
    const log = fs.readFileSync(state.coordinator.log, 'utf8');
    expect(log).toMatch(/stopped answering|step failed; re-running/);
    expect(log).toMatch(/Redis lost this run/);
    expect(log.match(/coordinator listening/g)?.length).toBe(2);

    const down = await runForge('cluster', 'down');
    expect(down.code).toBe(0);
    expect(readClusterState()).toBeUndefined();
  }, 420_000);

  it('finishes a data-parallel finetune job through a worker kill, with the single-process result', async () => {
    const data = path.join(tmp, 'sms.csv');
    const ham = [
      'see you at lunch',
      'the meeting moved to noon',
      'call me when you land',
      'thanks for the notes',
    ];
    const spam = ['win money now', 'free prize claim today', 'cheap loans click here', 'you won a cruise'];
    const rows = Array.from({ length: 100 }, (_, i) => [
      `ham,${ham[i % 4]} ${i}`,
      `spam,${spam[i % 4]} ${i}`,
    ]).flat();
    fs.writeFileSync(data, `label,text\n${rows.join('\n')}\n`);
    const flags = [
      '--data',
      data,
      '--preset',
      'tiny',
      '--epochs',
      '4',
      '--batch-size',
      '4',
      '--max-length',
      '16',
    ];

    // Another checkout: a FORGE_HOME of its own.
    process.env.FORGE_HOME = path.join(tmp, 'other-checkout', '.forge');
    const up = await runForge(
      'cluster',
      'up',
      '--workers',
      '2',
      '--port',
      '0',
      '--runs-dir',
      path.join(tmp, 'ft-runs'),
      '--json',
    );
    expect(up.code).toBe(0);
    // A cluster of another FORGE_HOME: a prefix of its own, so the first cluster's run is not listed.
    expect(up.json.redis_prefix).toMatch(/^forge:[0-9a-f]{8}:$/);
    expect(up.json.redis_prefix).not.toBe(firstPrefix);
    const state = readClusterState()!;
    const fresh = new CoordinatorApi(state.apiUrl, state.token);
    expect(await fresh.runs()).toEqual([]);
    // Nor its workers: the one killed there (still recorded as lost under its prefix) is not here.
    expect((await fresh.workers()).map((w) => w.id).sort()).toEqual(state.workers.map((w) => w.id).sort());
    const submitted = await runForge(
      'submit',
      'finetune',
      'classify',
      ...flags,
      '--workers',
      '2',
      '--checkpoint-every',
      '5',
      '--json',
    );
    expect(submitted.code).toBe(0);
    const id = submitted.json.finetune_id as string;
    const api = new CoordinatorApi(state.apiUrl, state.token);

    // A worker dies mid-job: the survivor continues from the newest saved state.
    const deadline = Date.now() + 180_000;
    let killed = false;
    let job = await api.finetune(id);
    while (!['completed', 'failed', 'cancelled'].includes(job.status) && Date.now() < deadline) {
      if (!killed && job.progress.step >= 20) {
        process.kill(state.workers[1].pid, 'SIGKILL');
        killed = true;
      }
      await sleep(100);
      job = await api.finetune(id);
    }
    expect(killed).toBe(true);
    expect(job.error).toBeUndefined();
    expect(job.status).toBe('completed');
    expect(job.progress.attempt).toBeGreaterThanOrEqual(1);

    const single = await runForge(
      'finetune',
      'classify',
      ...flags,
      '--out',
      path.join(tmp, 'ft-single'),
      '--json',
    );
    expect(single.code).toBe(0);
    const e = job.evaluation;
    expect(e && 'confusionMatrix' in e).toBe(true);
    if (e && 'confusionMatrix' in e) {
      expect(e.accuracy.train).toBeCloseTo(single.json.train_accuracy as number, 6);
      expect(e.accuracy.test).toBeCloseTo(single.json.test_accuracy as number, 6);
    }
    expect(job.trainableParameters).toBe(single.json.trainable_parameters);
    expect(fs.existsSync(path.join(job.modelDir!, 'config.json'))).toBe(true);
    const log = fs.readFileSync(state.coordinator.log, 'utf8');
    expect(log).toMatch(/finetune attempt failed; retrying|stopped answering/);
    expect((await runForge('cluster', 'down')).code).toBe(0);
    process.env.FORGE_HOME = path.join(tmp, '.forge');
  }, 300_000);

  it('runs the quick start: `forge train` without flags prints the line of `forge cluster up --submit --wait`', async () => {
    const cwd = path.join(tmp, 'quick-start');
    fs.mkdirSync(cwd);
    // The first test's FORGE_HOME again, after its `down`: the same keys, so its run is still listed,
    // and its killed worker is never put in the new cluster's ring.
    const up = await runForge(
      'cluster', 'up', '--workers', '2', '--port', '0', '--runs-dir', path.join(cwd, 'runs'), '--submit', '--wait', '--json',
    ); // prettier-ignore
    expect(up.stderr).not.toMatch(/^forge: /m);
    expect(up.code).toBe(0);
    const cluster = up.json.run as Record<string, unknown>;
    expect(cluster.status).toBe('completed');
    if (firstPrefix) {
      expect(up.json.redis_prefix).toBe(firstPrefix);
      const state = readClusterState()!;
      const api = new CoordinatorApi(state.apiUrl, state.token);
      expect((await api.runs()).map((r) => r.id)).toContain(firstRunId);
      // Listed as lost if at all (the first test's Redis restart forgot every record, and only the
      // live workers registered again).
      const killed = (await api.workers()).find((w) => w.id === killedWorker);
      expect(killed?.state ?? 'lost').toBe('lost');
      const members = (await api.run(cluster.run_id as string)).members?.map((m) => m.workerId);
      expect(members?.sort()).toEqual(state.workers.map((w) => w.id).sort());
    }
    expect((await runForge('cluster', 'down')).code).toBe(0);

    const alone = await runForge('train', '--out', path.join(cwd, 'alone'), '--json');
    expect(alone.code).toBe(0);
    const want = alone.json.step_losses as number[];
    expect(want).toHaveLength(200);
    // Two ranks sum the gradient in another order than one process: float rounding that grows
    // slowly over 200 steps at lr 1e-3 (measured: 3e-4 at most, of losses near 7).
    const got = cluster.step_losses as number[];
    expect(maxAbsDiff(got.slice(0, 50), want.slice(0, 50))).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs((cluster.final_val_loss as number) - (alone.json.final_val_loss as number))).toBeLessThan(
      1e-3,
    );
    expect(
      Math.abs((cluster.final_train_loss as number) - (alone.json.final_train_loss as number)),
    ).toBeLessThan(1e-3);
    // The same fields, defined once (tokens per second differs, being a measurement).
    for (const key of ['step_losses', 'final_train_loss', 'final_val_loss', 'tokens_per_second', 'sample'])
      expect(Object.keys(cluster)).toContain(key);
    expect(cluster.sample).toBe(alone.json.sample);
  }, 600_000);
});
