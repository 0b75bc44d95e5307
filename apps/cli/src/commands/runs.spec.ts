/**
 * `forge runs …` and `forge finetunes …` against a real coordinator started in-process on its own
 * Redis key prefix (the coordinator's test harness), with step metrics written the way its step
 * processor writes them. The contract of issue 16 is also checked on the built CLI (dist/, spawned)
 * when it is built. Skips when Redis does not answer.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import {
  deletePrefix,
  redisAvailable,
  RunsRepository,
  startApp,
  TEST_TOKEN,
  testConfig,
  testPrefix,
  type CoordinatorApp,
} from '@llm-forge/coordinator/testing';
import { runForge as forge } from '../test-utils/run-forge';

const BIN = path.resolve(__dirname, '../../bin/forge.js');
const BUILT = fs.existsSync(path.resolve(__dirname, '../../dist/main.js'));

/** Runs the built CLI as a process (asynchronously: the coordinator answers from this process). */
function spawnForge(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: process.env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('forge runs and forge finetunes (real coordinator)', () => {
  const env = { ...process.env };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-runs-cli-'));
  let up = false;
  let prefix = '';
  let app: CoordinatorApp | undefined;
  let url = '';

  beforeAll(async () => {
    up = await redisAvailable();
    if (!up) return;
    prefix = testPrefix();
    app = await startApp(testConfig(prefix, { runsDir: tmp }));
    await app.app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.app.getHttpServer() as Server).address() as AddressInfo).port}`;
    process.env.FORGE_API_URL = url;
    process.env.FORGE_API_TOKEN = TEST_TOKEN;
  });
  afterAll(async () => {
    process.env = env;
    (app?.app.getHttpServer() as Server | undefined)?.closeAllConnections();
    await app?.app.close();
    if (up) await deletePrefix(prefix);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const call = async (method: string, route: string, body?: object): Promise<Record<string, unknown>> => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    return (await res.json()) as Record<string, unknown>;
  };

  /** A queued run with `steps` step metrics and an evaluation after every second step (val 6, 5.5, …). */
  async function runWithSteps(steps: number, name?: string): Promise<string> {
    const { id } = (await call('POST', '/runs', { steps: 10, ...(name ? { name } : {}) })) as { id: string };
    const repo = app!.app.get(RunsRepository);
    for (let step = 0; step < steps; step++) {
      const evaluation =
        step % 2 === 1 ? { step: step + 1, trainLoss: 7 - step, valLoss: 6.5 - step / 4 } : undefined;
      await repo.appendStep(
        id,
        { step, loss: 8 - step / 2, lr: 1e-3, tokensPerSecond: 1000, stepMs: 100 },
        evaluation,
      );
    }
    return id;
  }

  it('forge --version prints the version of the CLI package', async () => {
    const version = JSON.parse(
      fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'),
    ).version;
    const run = await forge('--version');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  it('runs list --json prints every run with id, status, bestValLoss and finalValLoss', async () => {
    if (!up) return;
    const trained = await runWithSteps(4, 'trained');
    const fresh = await runWithSteps(0);
    const run = await forge('runs', 'list', '--json');
    expect(run.code).toBe(0);
    const list = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>[];
    expect(list.find((r) => r.id === trained)).toMatchObject({
      status: 'queued',
      bestValLoss: 5.75,
      finalValLoss: 5.75,
    });
    expect(list.find((r) => r.id === fresh)).toMatchObject({
      status: 'queued',
      bestValLoss: null,
      finalValLoss: null,
    });

    const table = await forge('runs', 'list');
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+STEP\s+BEST VAL\s+FINAL VAL/);
    expect(table.stdout).toMatch(new RegExp(`${trained}\\s+trained\\s+queued\\s+0/10\\s+5\\.750\\s+5\\.750`));
  });

  it('annotates runs, hides archived ones unless --all, and filters by --tag', async () => {
    if (!up) return;
    const archived = await runWithSteps(0);
    const tagged = await runWithSteps(0);
    expect((await forge('runs', 'annotate', archived, '--archive', '--json')).json).toMatchObject({
      archived: true,
    });
    const annotated = await forge('runs', 'annotate', tagged, '--tags', 'sweep, lr', '--notes', 'lr 3e-3');
    expect(annotated.stdout).toContain(`run ${tagged}: tags sweep, lr`);
    expect(await call('GET', `/runs/${tagged}`)).toMatchObject({ tags: ['sweep', 'lr'], notes: 'lr 3e-3' });
    expect((await forge('runs', 'annotate', tagged)).stderr).toMatch(/nothing to change.*--tags/);
    const ids = async (...flags: string[]) =>
      (JSON.parse((await forge('runs', 'list', '--json', ...flags)).stdout) as { id: string }[]).map(
        (r) => r.id,
      );
    expect(await ids()).not.toContain(archived);
    expect(await ids('--all')).toContain(archived);
    expect(await ids('--tag', 'sweep')).toEqual([tagged]);
  });

  it('pauses, resumes and cancels a run, and refuses what its state does not allow', async () => {
    if (!up) return;
    const id = await runWithSteps(0);
    expect((await forge('runs', 'pause', id, '--json')).json).toMatchObject({ id, status: 'paused' });
    expect((await forge('runs', 'resume', id, '--json')).json).toMatchObject({ id, status: 'queued' });
    const cancelled = await forge('runs', 'cancel', id);
    expect(cancelled.stdout).toContain(`run ${id} cancelled: now cancelled`);
    const again = await forge('runs', 'resume', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cannot resume run .*: it is cancelled/);
    expect((await forge('runs', 'delete', id, '--json')).json).toMatchObject({ id });
    expect((await forge('runs', 'show', id)).stderr).toMatch(/run .* does not exist/);
  });

  it('shows a run and its checkpoints', async () => {
    if (!up) return;
    const id = await runWithSteps(2, 'shown');
    const shown = await forge('runs', 'show', id);
    expect(shown.stdout).toContain(`run ${id} (shown): queued`);
    expect(shown.stdout).toMatch(/validation loss best 6\.250, final 6\.250 \(step 2\)/);
    expect((await forge('runs', 'show', id, '--json')).json).toMatchObject({ id, finalValLoss: 6.25 });
    expect((await forge('runs', 'checkpoints', id)).stdout).toContain('no checkpoints yet');
    const json = await forge('runs', 'checkpoints', id, '--json');
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('runs export prints CSV with a step,loss header and one line per step, or one JSON object per step', async () => {
    if (!up) return;
    const id = await runWithSteps(5);
    const csv = await forge('runs', 'export', id, '--format', 'csv');
    const lines = csv.stdout.trim().split('\n');
    const header = lines[0].split(',');
    expect(header).toEqual(expect.arrayContaining(['step', 'loss']));
    expect(lines).toHaveLength(1 + 5);
    expect(lines.slice(1).map((l) => Number(l.split(',')[header.indexOf('loss')]))).toEqual([
      8, 7.5, 7, 6.5, 6,
    ]);
    const jsonl = await forge('runs', 'export', id, '--format', 'jsonl');
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
    const file = path.join(tmp, 'metrics.csv');
    const written = await forge('runs', 'export', id, '--out', file);
    expect(written.stdout).toContain(`wrote 5 steps to ${file}`);
    expect(fs.readFileSync(file, 'utf8')).toBe(csv.stdout);
    expect((await forge('runs', 'export', id, '--format', 'xml')).stderr).toMatch(
      /Allowed choices are csv, jsonl/,
    );
  });

  it('lists, shows and cancels finetune jobs; a starting job shows no "0/0"', async () => {
    if (!up) return;
    const dataset = path.join(tmp, 'sms.tsv');
    fs.writeFileSync(dataset, 'label\ttext\n' + 'spam\tWIN cash now\nham\tsee you at noon\n'.repeat(10));
    const job = await call('POST', '/finetunes', {
      kind: 'classification',
      preset: 'tiny',
      dataset,
      name: 'spam',
    });
    const id = job.id as string;
    const list = await forge('finetunes', 'list');
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+spam\\s+classification\\s+queued\\s+-\\s+-`));
    expect(JSON.parse((await forge('finetunes', 'list', '--json')).stdout)[0]).toMatchObject({
      id,
      name: 'spam',
    });
    expect((await forge('finetunes', 'show', id)).stdout).toContain(
      `finetune ${id} (spam): classification queued`,
    );
    expect((await forge('finetunes', 'cancel', id, '--json')).json).toMatchObject({
      id,
      status: 'cancelled',
    });
  });

  it('the built CLI keeps the contract: --version, runs list --json, runs export --format csv', async () => {
    if (!up || !BUILT) return console.warn('SKIPPING the built-CLI check: apps/cli/dist is not built');
    const id = await runWithSteps(3);
    const version = await spawnForge('--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const list = await spawnForge('runs', 'list', '--json');
    expect(list.code).toBe(0);
    const run = (JSON.parse(list.stdout) as Record<string, unknown>[]).find((r) => r.id === id);
    expect(run).toMatchObject({ id, status: 'queued', bestValLoss: 6.25, finalValLoss: 6.25 });
    const csv = await spawnForge('runs', 'export', id, '--format', 'csv');
    expect(csv.stdout.trim().split('\n')).toHaveLength(4);
  });
});

describe('forge runs without a coordinator', () => {
  const env = { ...process.env };
  afterAll(() => (process.env = env));

  it('says how to get one', async () => {
    delete process.env.FORGE_API_URL;
    process.env.FORGE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-home-'));
    const run = await forge('runs', 'list');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no coordinator to talk to.*forge cluster up/s);
  });
});
