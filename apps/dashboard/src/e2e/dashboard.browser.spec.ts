/**
 * The dashboard in a real browser: Playwright drives Debian's chromium (headless, --no-sandbox)
 * against a real coordinator started in-process on its own Redis key prefix, with dist/ served by
 * the static + proxy server that mirrors the serving contract (README). Screenshots land in
 * test-output/. Skips with a message when chromium, Redis or dist/ is missing.
 *
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  deletePrefix,
  redisAvailable,
  JobEvents,
  RunsRepository,
  startApp,
  TEST_TOKEN,
  testConfig,
  testPrefix,
  type CoordinatorApp,
} from '@llm-forge/coordinator/testing';
import type { Finetune, Run, RunDetail } from '../api/types';
import { TOKEN_KEY } from '../lib/token-store';
import { findChromium, launchChromium, pixelsOfColour, screenshot } from './browser';
import { freePort, REPO, startWorker, stopWorker, stragglerMetrics, type WorkerTarget } from './fixtures';
import { startStaticProxy, type StaticProxy } from './static-proxy';

const DIST = path.resolve(__dirname, '../../dist');
const CHROMIUM = findChromium();
/** Colour of the train-loss line (RunCharts.tsx), to count the pixels it painted. */
const TRAIN_LOSS_RGB = [0x3b, 0x82, 0xf6] as const;

/** Why a test cannot run yet (the coordinator lacks what it needs); undefined = enabled. */

/** Writes a checkpoint of one training step of the `tiny` preset to `out` (`forge train`). */
function trainTinyModel(out: string): void {
  const forge = path.join(REPO, 'apps/cli/bin/forge.js');
  const train = spawnSync(
    process.execPath,
    [forge, 'train', '--steps', '1', '--batch-size', '1', '--context-length', '16', '--out', out, '--json'],
    { encoding: 'utf8', timeout: 90_000 },
  );
  if (train.status !== 0) throw new Error(`forge train failed: ${train.stderr}`);
}

const missing = !CHROMIUM
  ? 'no chromium binary (apt-get install -y chromium, or set CHROMIUM_PATH)'
  : !existsSync(path.join(DIST, 'index.html'))
    ? `no ${DIST}/index.html (npm run build -w @llm-forge/dashboard)`
    : undefined;
if (missing) console.warn(`SKIPPING dashboard browser tests: ${missing}`);
const describeBrowser = missing ? describe.skip : describe;

describeBrowser('dashboard in chromium', () => {
  let up = false;
  let prefix = '';
  let runsDir = '';
  let coordinator: CoordinatorApp | undefined;
  let apiOrigin = '';
  let site: StaticProxy | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let pageErrors: string[] = [];
  let workerTarget: WorkerTarget = { grpcPort: 0, clusterSecret: '', redisPrefix: '' };

  beforeAll(async () => {
    up = await redisAvailable();
    if (!up) return;
    prefix = testPrefix();
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'forge-dashboard-'));
    // a known control-plane port, so that real workers can be pointed at it
    const config = testConfig(prefix, { runsDir, grpcPort: await freePort() });
    workerTarget = {
      grpcPort: config.grpcPort,
      clusterSecret: config.clusterSecret ?? '',
      redisPrefix: prefix,
    };
    coordinator = await startApp(config);
    await coordinator.app.listen(0, '127.0.0.1');
    const { port } = (coordinator.app.getHttpServer() as Server).address() as AddressInfo;
    apiOrigin = `http://127.0.0.1:${port}`;
    site = await startStaticProxy(DIST, apiOrigin);
    browser = await launchChromium(CHROMIUM as string);
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    // an open event stream would keep the HTTP server's close waiting
    (coordinator?.app.getHttpServer() as Server | undefined)?.closeAllConnections();
    await coordinator?.app.close();
    if (up) await deletePrefix(prefix);
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    expect(pageErrors).toEqual([]); // no uncaught exception in the page
  });

  /** A fresh browser context on `hash`, with the token already saved unless `withToken` is false. */
  async function open(hash: string, withToken = true): Promise<Page> {
    context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 } });
    if (withToken)
      await context.addInitScript(
        ([key, token]) => localStorage.setItem(key, token),
        [TOKEN_KEY, TEST_TOKEN],
      );
    const page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${(site as StaticProxy).url}/${hash}`);
    return page;
  }

  /**
   * Fails the page's every later GET of `pathname`, so that what it shows next can only come from
   * the event stream (not from its periodic refetch).
   */
  async function blockRefetch(page: Page, pathname: string): Promise<void> {
    await page.route(
      (url) => url.pathname === pathname,
      (route) => (route.request().method() === 'GET' ? route.abort() : route.continue()),
    );
  }

  /** Calls the coordinator's API directly (as a CLI or another user would). */
  async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${apiOrigin}${route}`, {
      method,
      headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** Cancels every unfinished run, so that a worker started next is free for the test's own run. */
  async function cancelUnfinishedRuns(): Promise<void> {
    for (const r of await api<Run[]>('GET', '/runs'))
      if (['queued', 'running', 'paused'].includes(r.status)) await api('POST', `/runs/${r.id}/cancel`);
  }

  function createRun(name: string): Promise<Run> {
    return api<Run>('POST', '/runs', {
      name,
      data: { text: 'builtin:moby-dick' },
      steps: 40,
      batchSize: 4,
      contextLength: 32,
    });
  }

  it('asks for the token once, asks again when it is wrong, and keeps it across reloads', async () => {
    if (!up) return;
    const page = await open('', false);
    const dialog = page.getByTestId('token-dialog');
    await dialog.locator('input[name=token]').fill('wrong-token-0000000000000');
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('The coordinator rejected the token (401)').waitFor();
    await screenshot(page, '01-token-rejected');

    await page.locator('input[name=token]').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    expect(await page.getByTestId('token-dialog').count()).toBe(0);
    expect(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY)).toBe(TEST_TOKEN);
  });

  it('starts a run from the form and lists it with status and progress', async () => {
    if (!up) return;
    const page = await open('#/runs/new');
    const form = page.getByTestId('new-run-form');
    await form.locator('input[name=name]').fill('browser run');
    await form.locator('input[name=steps]').fill('0');
    await form.getByRole('button', { name: 'Start run' }).click();
    await form.getByText('steps must be at least 1, got 0').waitFor(); // checked before any request
    await form.locator('input[name=steps]').fill('25');
    await form.locator('input[name=contextLength]').fill('32');
    await form.getByRole('button', { name: 'Start run' }).click();

    await page.getByTestId('run-page').waitFor();
    const id = await page.getByTestId('run-page').getAttribute('data-run-id');
    expect(page.url()).toContain(`#/runs/${id}`);
    const run = await api<Run>('GET', `/runs/${id}`);
    expect(run).toMatchObject({ name: 'browser run', spec: { steps: 25, contextLength: 32 } });
    await page.getByRole('heading', { name: 'browser run' }).waitFor();

    await page.goto(`${(site as StaticProxy).url}/#/runs`);
    const row = page.locator(`tr[data-run-id="${id}"]`);
    await row.getByText('browser run').waitFor();
    expect(await row.getByTestId('status').textContent()).toMatch(/queued|running/);
    expect(await row.locator('.progress-label').textContent()).toMatch(/\d+ \/ 25/);
    await screenshot(page, '02-runs-list');
  });

  it('draws the loss curve from the reported steps, on a log scale too, and shows the straggler', async () => {
    if (!up) return;
    const run = await createRun('curves');
    const page = await open(`#/runs/${run.id}`);
    const lossBox = page.getByTestId('loss-chart').locator('.chart-canvas');
    await page.getByTestId('loss-chart').getByText('no data yet').waitFor();
    expect(await pixelsOfColour(page, '[data-testid=loss-chart]', TRAIN_LOSS_RGB)).toBe(0);

    await page.getByTestId('live-state').getByText('live').waitFor();
    await blockRefetch(page, `/runs/${run.id}`); // only the events can draw the curves now
    // What the step processor does with three workers' reports (one of them slow): store, then publish.
    const app = (coordinator as CoordinatorApp).app;
    for (const metric of stragglerMetrics(30)) {
      await app.get(RunsRepository).appendMetrics(run.id, metric);
      app.get(JobEvents).emit({ type: 'step', data: { runId: run.id, metric } });
    }
    await page.waitForSelector('[data-testid=loss-chart] .chart-canvas[data-points="30"]', {
      timeout: 15_000,
    });
    const linear = await pixelsOfColour(page, '[data-testid=loss-chart]', TRAIN_LOSS_RGB);
    expect(linear).toBeGreaterThan(200);
    const linearImage = await page.locator('[data-testid=loss-chart] canvas').screenshot();
    await page.getByLabel('log scale').check();
    await expect(lossBox.getAttribute('data-points')).resolves.toBe('30');
    const logImage = await page.locator('[data-testid=loss-chart] canvas').screenshot();
    expect(logImage.equals(linearImage)).toBe(false); // the y axis really changed
    expect(await pixelsOfColour(page, '[data-testid=loss-chart]', TRAIN_LOSS_RGB)).toBeGreaterThan(200);

    await page.waitForSelector('[data-testid=lr-chart] .chart-canvas[data-points="30"]');
    await page.waitForSelector('[data-testid=tps-chart] .chart-canvas[data-points="30"]');
    await page.getByTestId('stragglers').getByText('rank 2 (w2)').waitFor();
    expect(await page.getByTestId('figure-loss').locator('dd').textContent()).toBe(
      (10 * Math.exp(-29 / 12) + 1.5).toFixed(4),
    );
    expect(await page.getByTestId('figure-sync').locator('dd').textContent()).toBe('ddp');
    await screenshot(page, '03-run-curves');
  });

  it('pauses, resumes and cancels with the buttons, and the coordinator agrees', async () => {
    if (!up) return;
    const run = await createRun('actions');
    const page = await open(`#/runs/${run.id}`);
    const actions = page.getByTestId('run-actions');
    const status = page.locator('.page-header [data-testid=status]');

    await actions.getByRole('button', { name: 'Pause' }).click();
    await status.getByText('paused').waitFor();
    expect((await api<Run>('GET', `/runs/${run.id}`)).status).toBe('paused');
    expect(await actions.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await screenshot(page, '04-run-paused');

    await actions.getByRole('button', { name: 'Resume', exact: true }).click();
    await status.getByText(/queued|running/).waitFor();
    expect((await api<Run>('GET', `/runs/${run.id}`)).status).toMatch(/queued|running/);

    page.once('dialog', (d) => void d.accept());
    await actions.getByRole('button', { name: 'Cancel' }).click();
    await status.getByText('cancelled').waitFor();
    expect((await api<Run>('GET', `/runs/${run.id}`)).status).toBe('cancelled');
    expect(await actions.getByRole('button').count()).toBe(0);

    await page.reload(); // state comes back from the coordinator, not from the page
    await page.locator('.page-header [data-testid=status]').getByText('cancelled').waitFor();
  });

  it('lists checkpoints and resumes from the chosen one', async () => {
    if (!up) return;
    const run = await createRun('checkpoints');
    for (const step of [10, 20]) {
      const dir = path.join(run.checkpointDir, `step-0000${step}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'config.json'), '{}');
      writeFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(4096));
    }
    await api('POST', `/runs/${run.id}/pause`);
    const page = await open(`#/runs/${run.id}`);
    const table = page.getByTestId('checkpoints');
    await table.getByText('step-000020').waitFor();
    expect(await table.locator('tbody tr').first().textContent()).toContain('step-000020'); // newest first
    await page.getByLabel('checkpoint to resume from').selectOption('step-000010');
    await page.getByRole('button', { name: 'Resume from checkpoint' }).click();
    await page
      .locator('.page-header [data-testid=status]')
      .getByText(/queued|running/)
      .waitFor();
    expect((await api<Run>('GET', `/runs/${run.id}`)).status).toMatch(/queued|running/);
    await screenshot(page, '05-checkpoints');
  });

  it('updates live over server-sent events', async () => {
    if (!up) return;
    const page = await open('#/runs');
    await page.getByTestId('live-state').getByText('live').waitFor();
    await page.getByTestId('runs-table').waitFor(); // the list as loaded (earlier tests made runs)
    await blockRefetch(page, '/runs'); // only the event stream can bring the new run now
    const run = await createRun('live');
    await page.locator(`tr[data-run-id="${run.id}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-run-id]').count()).toBe((await api<Run[]>('GET', '/runs')).length);
  });

  it('lists a real worker on the workers page, then shows it lost when it crashes', async () => {
    if (!up) return;
    await cancelUnfinishedRuns();
    const worker = startWorker('browser-w1', workerTarget, 'info'); // info: lines for its log below
    try {
      const page = await open('#/workers');
      const row = page.getByTestId('workers-table').locator('tr', { hasText: 'browser-w1' });
      await row.getByText('idle').waitFor({ timeout: 60_000 });
      // Its heartbeats carry the process's CPU and memory, and its log lines.
      await row.getByText(/\d+(\.\d)? (MiB|GiB)/).waitFor({ timeout: 10_000 });
      await row.getByRole('button', { name: 'show' }).click();
      await page
        .getByTestId('worker-log-browser-w1')
        .getByText(/worker ready/)
        .waitFor({ timeout: 10_000 });
      expect(await page.getByRole('alert').count()).toBe(0);
      await screenshot(page, '06-workers');
      // A crash, not a clean stop: a worker stopped cleanly says it leaves and is removed at once.
      worker.kill('SIGKILL');
      await row.getByText('lost').waitFor({ timeout: 20_000 }); // no heartbeat within workerTimeoutMs
    } finally {
      await stopWorker(worker);
    }
  });

  it('creates a finetune job from the form; a real worker trains it and the page shows the evaluation', async () => {
    if (!up) return;
    await cancelUnfinishedRuns(); // the worker started below must be free for the finetune
    const base = path.join(runsDir, 'finetune-base');
    trainTinyModel(base);
    const dataset = path.join(runsDir, 'spam.csv');
    const ham = [
      'see you at lunch',
      'the meeting moved',
      'call me later',
      'thanks for the notes',
      'dinner at eight',
    ];
    const spam = [
      'win money now',
      'free prize today',
      'cheap loans here',
      'you won a cruise',
      'claim your reward',
    ];
    const rows = [...ham.map((t) => `ham,${t}`), ...spam.map((t) => `spam,${t}`)];
    writeFileSync(dataset, `label,text\n${[...rows, ...rows].join('\n')}\n`);

    const page = await open('#/finetunes/new');
    const form = page.getByTestId('new-finetune-form');
    await form.locator('select[name=kind]').selectOption('classification');
    await form.locator('input[name=baseCheckpoint]').fill(base);
    await form.locator('input[name=dataset]').fill(dataset);
    await form.locator('input[name=epochs]').fill('1');
    await form.locator('input[name=batchSize]').fill('4');
    await form.locator('input[name=maxLength]').fill('8');
    await form.getByRole('button', { name: 'Submit finetune' }).click();
    await page.getByTestId('finetune-page').waitFor();
    const jobs = await api<Finetune[]>('GET', '/finetunes');
    expect(jobs.map((j) => [j.kind, j.status])).toContainEqual(['classification', 'queued']);

    const worker = startWorker('browser-ft', workerTarget);
    try {
      await page.getByTestId('confusion-matrix').waitFor({ timeout: 120_000 });
      await page.getByTestId('accuracy').waitFor();
      const job = await api<Finetune>('GET', `/finetunes/${jobs[0].id}`);
      expect(job.status).toBe('completed');
      await screenshot(page, '07-finetune');
    } finally {
      await stopWorker(worker);
    }
  }, 240_000); // a worker's start, a tiny model's training and a finetune, on a busy CI machine

  it('streams generated text from a checkpoint', async () => {
    if (!up) return;
    const out = path.join(runsDir, 'tiny-model');
    trainTinyModel(out);
    const page = await open(`#/generate?checkpoint=${encodeURIComponent(out)}`);
    await page.locator('input[name=maxNewTokens]').fill('8');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForFunction(() => {
      const text = document.querySelector('[data-testid=generated]')?.textContent ?? '';
      return text.length > 'Every effort moves you'.length;
    });
    await page.getByRole('button', { name: 'Generate' }).waitFor(); // the stream ended
    await screenshot(page, '08-generate');
  });

  it('follows a real short run by a real worker to the end', async () => {
    if (!up) return;
    await cancelUnfinishedRuns();
    const worker = startWorker('browser-w0', workerTarget);
    try {
      await followRealRun();
    } finally {
      await stopWorker(worker);
    }
  }, 300_000); // a worker's start and six steps of training, on a busy CI machine

  async function followRealRun(): Promise<void> {
    const run = await api<Run>('POST', '/runs', {
      name: 'real',
      data: { text: 'builtin:moby-dick' },
      steps: 6,
      batchSize: 2,
      contextLength: 16,
      evalEvery: 3,
      checkpointEvery: 3,
    });
    const page = await open(`#/runs/${run.id}`);
    await page
      .locator('.page-header [data-testid=status]')
      .getByText('completed')
      .waitFor({ timeout: 240_000 });
    // the run's worker, with its memory from its heartbeats
    await page
      .getByTestId('run-workers')
      .locator('tr', { hasText: 'browser-w0' })
      .getByText(/MiB|GiB/)
      .waitFor();
    // every step's loss and every evaluation is on the chart; samples and checkpoints are listed
    const detail = await api<RunDetail>('GET', `/runs/${run.id}`);
    expect(detail.metrics).toHaveLength(6);
    expect(detail.evals?.length).toBeGreaterThan(0);
    const evalPoints = (detail.evals ?? []).reduce(
      (n, e) => n + (e.trainLoss === undefined ? 0 : 1) + (e.valLoss === undefined ? 0 : 1),
      0,
    );
    await page.waitForSelector(`[data-testid=loss-chart] .chart-canvas[data-points="${6 + evalPoints}"]`);
    expect(await pixelsOfColour(page, '[data-testid=loss-chart]', TRAIN_LOSS_RGB)).toBeGreaterThan(100);
    expect(await page.getByTestId('samples').locator('li').count()).toBe(detail.samples?.length ?? 0);
    await page.getByTestId('checkpoints').getByText('step-000006').waitFor();
    await screenshot(page, '09-real-run');
  }
});
