/**
 * The experiment-tracking pages in a real browser (Playwright, Debian's chromium): the runs list
 * (sorting, search, filters, tags and notes, archive, ETA, export) and the compare view (overlaid
 * curves on step / tokens / wall time, smoothing, the hyperparameters that differ, state in the URL),
 * against a real coordinator in-process on its own Redis prefix, the steps written as its step
 * processor writes them. Skips with a message when chromium, Redis or dist/ is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
import type { Run } from '../api/types';
import { TOKEN_KEY } from '../lib/token-store';
import { findChromium, launchChromium, screenshot } from './browser';
import { startStaticProxy, type StaticProxy } from './static-proxy';

const DIST = path.resolve(__dirname, '../../dist');
const CHROMIUM = findChromium();
const missing = !CHROMIUM
  ? 'no chromium binary (apt-get install -y chromium, or set CHROMIUM_PATH)'
  : !existsSync(path.join(DIST, 'index.html'))
    ? `no ${DIST}/index.html (npm run build -w @llm-forge/dashboard)`
    : undefined;
if (missing) console.warn(`SKIPPING runs/compare browser tests: ${missing}`);
const describeBrowser = missing ? describe.skip : describe;

describeBrowser('runs list and compare view in chromium', () => {
  let up = false;
  let prefix = '';
  let runsDir = '';
  let coordinator: CoordinatorApp | undefined;
  let apiOrigin = '';
  let site: StaticProxy | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let pageErrors: string[] = [];
  let notFound: string[] = [];
  /** Three runs: a finished baseline, a running one with a higher lr, an archived one. */
  let runs: { baseline: Run; fast: Run; old: Run };

  beforeAll(async () => {
    up = await redisAvailable();
    if (!up) return;
    prefix = testPrefix();
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'forge-compare-'));
    coordinator = await startApp(testConfig(prefix, { runsDir }));
    await coordinator.app.listen(0, '127.0.0.1');
    const { port } = (coordinator.app.getHttpServer() as Server).address() as AddressInfo;
    apiOrigin = `http://127.0.0.1:${port}`;
    site = await startStaticProxy(DIST, apiOrigin);
    browser = await launchChromium(CHROMIUM as string);
    runs = {
      baseline: await seededRun('baseline', 1e-3, 30, 0),
      fast: await seededRun('fast lr', 3e-3, 20, 0.5),
      old: await seededRun('old attempt', 1e-3, 10, 1),
    };
    await api('POST', `/runs/${runs.baseline.id}/cancel`);
    await api('POST', `/runs/${runs.old.id}/cancel`);
    await api('PATCH', `/runs/${runs.old.id}`, { archived: true });
    await coordinator.app.get(RunsRepository).transition(runs.fast.id, ['queued'], 'running');
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    (coordinator?.app.getHttpServer() as Server | undefined)?.closeAllConnections();
    await coordinator?.app.close();
    if (up) await deletePrefix(prefix);
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    expect(pageErrors).toEqual([]);
    expect(notFound).toEqual([]); // the favicon included
  });

  /** A fresh browser context on `hash`, with the token already saved unless `withToken` is false. */
  async function open(hash: string, withToken = true): Promise<Page> {
    context = await (browser as Browser).newContext({
      viewport: { width: 1400, height: 900 },
      acceptDownloads: true,
    });
    if (withToken)
      await context.addInitScript(
        ([key, token]) => localStorage.setItem(key, token),
        [TOKEN_KEY, TEST_TOKEN],
      );
    const page = await context.newPage();
    pageErrors = [];
    notFound = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('response', (res) => {
      if (res.status() === 404) notFound.push(res.url());
    });
    await page.goto(`${(site as StaticProxy).url}/${hash}`);
    return page;
  }

  async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${apiOrigin}${route}`, {
      method,
      headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /**
   * A run of `steps` reported steps with learning rate `lr` (a loss falling faster with it, `offset`
   * higher), an evaluation every 5 steps, and a last sample of blank lines (as an early model writes).
   */
  async function seededRun(name: string, lr: number, steps: number, offset: number): Promise<Run> {
    const run = await api<Run>('POST', '/runs', {
      name,
      steps: 100,
      batchSize: 4,
      contextLength: 32,
      optimizer: { lr },
    });
    const repo = (coordinator as CoordinatorApp).app.get(RunsRepository);
    for (let step = 0; step < steps; step++) {
      const loss = 8 * Math.exp(-step * lr * 30) + 2 + offset + 0.3 * Math.sin(step);
      const done = step + 1;
      await repo.appendStep(
        run.id,
        {
          step,
          loss,
          lr,
          gradNorm: 1 + 1 / done,
          tokensPerSecond: 1000 + 100 * offset,
          stepMs: 128,
          workers: [0, 1].map((rank) => ({ workerId: `w${rank}`, rank, loss, computeMs: 80 + 20 * rank, commMs: 30, jobMs: 120, bytesSent: 1 << 16 })), // prettier-ignore
        },
        done % 5 === 0 ? { step: done, trainLoss: loss, valLoss: loss + 0.1 } : undefined,
        done === steps ? { step: done, text: '\n'.repeat(60) } : undefined,
      );
    }
    return run;
  }

  const rowIds = (page: Page): Promise<string[]> =>
    page.locator('[data-testid=runs-table] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id') ?? '')); // prettier-ignore

  it("logs in from forge cluster up's link and leaves the token in neither the address nor the history", async () => {
    if (!up) return;
    const page = await open(`#token=${encodeURIComponent(TEST_TOKEN)}`, false);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    expect(await page.getByTestId('token-dialog').count()).toBe(0);
    expect(page.url()).not.toContain(TEST_TOKEN);
    expect(page.url()).toMatch(/#\/runs$/);
    expect(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY)).toBe(TEST_TOKEN);
    await page.goBack(); // the link's entry was replaced, not kept: back leaves the dashboard
    expect(page.url()).not.toContain(TEST_TOKEN);
  });

  it('sorts by validation loss, searches, filters, and shows archived runs on request', async () => {
    if (!up) return;
    const page = await open('#/runs');
    await page.locator(`tr[data-run-id="${runs.fast.id}"]`).waitFor();
    expect(await rowIds(page)).toEqual([runs.fast.id, runs.baseline.id]); // newest first, archived hidden

    const best = await api<Run[]>('GET', '/runs');
    const byBest = best
      .filter((r) => !r.archived)
      .sort((a, b) => (a.bestValLoss ?? 0) - (b.bestValLoss ?? 0));
    await page.getByRole('button', { name: 'Best val loss' }).click();
    expect(await rowIds(page)).toEqual(byBest.map((r) => r.id));
    await page.getByRole('button', { name: /Best val loss/ }).click();
    expect(await rowIds(page)).toEqual(byBest.map((r) => r.id).reverse());
    const baselineRow = page.locator(`tr[data-run-id="${runs.baseline.id}"]`);
    const baselineBest = best.find((r) => r.id === runs.baseline.id)!.bestValLoss!;
    expect(await baselineRow.locator('[data-col=bestValLoss]').textContent()).toBe(
      String(+baselineBest.toFixed(4)),
    );

    // ETA: the running run's estimate (from its step times), "—" for a cancelled one rather than "0s"
    expect(await page.locator(`tr[data-run-id="${runs.fast.id}"] [data-col=eta]`).textContent()).toMatch(
      /^\d+s$/,
    );
    expect(await baselineRow.locator('[data-col=eta]').textContent()).toBe('—');

    await page.getByPlaceholder('search id, name, tags, notes').fill('fast');
    expect(await rowIds(page)).toEqual([runs.fast.id]);
    await page.getByPlaceholder('search id, name, tags, notes').fill('');
    await page.getByLabel('status').selectOption('cancelled');
    expect(await rowIds(page)).toEqual([runs.baseline.id]);
    await page.getByLabel('show archived').check();
    expect((await rowIds(page)).sort()).toEqual([runs.baseline.id, runs.old.id].sort());
    await screenshot(page, '20-runs-list-filtered');
  });

  it('edits tags and notes, archives from the run page, and exports the metrics', async () => {
    if (!up) return;
    const page = await open(`#/runs/${runs.baseline.id}`);
    const panel = page.getByTestId('annotations');
    await panel.locator('input[name=tags]').fill('baseline, tiny');
    await panel.locator('textarea[name=notes]').fill('the quick start run');
    await panel.getByRole('button', { name: 'Save notes' }).click();
    await panel.getByText('saved').waitFor();
    expect(await api<Run>('GET', `/runs/${runs.baseline.id}`)).toMatchObject({
      tags: ['baseline', 'tiny'],
      notes: 'the quick start run',
    });
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const file = path.join(runsDir, 'export.csv');
    await download.saveAs(file);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^step,loss,/);
    expect(lines).toHaveLength(1 + 30);

    // a checkpoint's weights download as they are on disk
    const step = path.join(runsDir, runs.baseline.id, 'step-000030');
    mkdirSync(step, { recursive: true });
    const weights = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    writeFileSync(path.join(step, 'model.safetensors'), weights);
    writeFileSync(path.join(step, 'config.json'), '{}');
    await page.reload();
    const checkpoints = page.getByTestId('checkpoints');
    const [weightsDownload] = await Promise.all([
      page.waitForEvent('download'),
      checkpoints.getByRole('button', { name: 'weights' }).click(),
    ]);
    expect(weightsDownload.suggestedFilename()).toBe(`${runs.baseline.id}-step-000030-model.safetensors`);
    const saved = path.join(runsDir, 'weights.bin');
    await weightsDownload.saveAs(saved);
    expect(readFileSync(saved).equals(weights)).toBe(true);

    // gradient norm, and each worker's compute and communication time over the steps
    await page.waitForSelector('[data-testid=grad-norm-chart] .chart-canvas[data-points="30"]');
    await page.waitForSelector('[data-testid=worker-compute-chart] .chart-canvas[data-points="60"]');
    await page.waitForSelector('[data-testid=worker-comm-chart] .chart-canvas[data-points="60"]');
    await screenshot(page, '23-run-page');

    // the blank-line sample is one short card, not a tall empty one
    const card = page.getByTestId('samples').locator('li').first();
    expect(await card.textContent()).toContain('only whitespace');
    expect((await card.boundingBox())!.height).toBeLessThan(80);

    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByRole('button', { name: 'Unarchive' }).waitFor();
    expect((await api<Run>('GET', `/runs/${runs.baseline.id}`)).archived).toBe(true);
    await page.getByRole('button', { name: 'Unarchive' }).click();
    await page.getByRole('button', { name: 'Archive' }).waitFor();

    await page.goto(`${(site as StaticProxy).url}/#/runs`);
    const tags = page.locator(`tr[data-run-id="${runs.baseline.id}"] [data-col=tags]`);
    await tags.getByText('tiny').waitFor();
    await page.getByLabel('tag').selectOption('tiny');
    expect(await rowIds(page)).toEqual([runs.baseline.id]);
    await screenshot(page, '21-run-tags');
  });

  it('compares chosen runs: overlaid curves, x-axis and smoothing kept in the URL, differing hyperparameters', async () => {
    if (!up) return;
    const page = await open('#/runs');
    await page.getByLabel(`select ${runs.baseline.id}`).check();
    await page.getByLabel(`select ${runs.fast.id}`).check();
    await page.getByTestId('compare-link').click();
    await page.getByTestId('compare-page').waitFor();
    expect(page.url()).toContain(`#/compare?runs=${runs.baseline.id},${runs.fast.id}`);

    // every chart draws both runs: 30 + 20 steps (validation: 6 + 4 evaluations)
    for (const [id, points] of [
      ['loss', 50],
      ['valLoss', 10],
      ['lr', 50],
      ['gradNorm', 50],
      ['tokensPerSecond', 50],
    ] as const)
      // prettier-ignore
      await page.waitForSelector(`[data-testid=compare-${id}] .chart-canvas[data-points="${points}"]`);
    const diff = page.getByTestId('param-diff');
    const lrRow = diff.locator('tr[data-param="optimizer.lr"] td');
    expect(await lrRow.allTextContents()).toEqual(['optimizer.lr', '0.001', '0.003']);
    expect(await diff.locator('tr[data-param="steps"]').count()).toBe(0); // the same in both

    const raw = await page.locator('[data-testid=compare-loss] canvas').screenshot();
    await page.locator('input[name=smoothing]').fill('0.9');
    await page.getByTestId('smoothing-value').getByText('0.90').waitFor();
    const smoothed = await page.locator('[data-testid=compare-loss] canvas').screenshot();
    expect(smoothed.equals(raw)).toBe(false);
    await page.getByLabel('x-axis').selectOption('tokens');
    expect(page.url()).toMatch(/x=tokens/);
    expect(page.url()).toMatch(/smooth=0\.9/);
    await screenshot(page, '22-compare');

    // the link alone restores the comparison
    await page.reload();
    await page.waitForSelector('[data-testid=compare-loss] .chart-canvas[data-points="50"]');
    expect(await page.getByLabel('x-axis').inputValue()).toBe('tokens');
    expect(await page.getByTestId('smoothing-value').textContent()).toBe('0.90');
    expect(await page.locator('input[name=compare-run]:checked').count()).toBe(2);

    // a link naming a run that is gone still shows the others, and says which one is missing
    await page.goto(`${(site as StaticProxy).url}/#/compare?runs=${runs.fast.id},run-gone`);
    await page.getByTestId('compare-missing').getByText('Not found: run-gone').waitFor();
    await page.waitForSelector('[data-testid=compare-loss] .chart-canvas[data-points="20"]');
    await context?.close(); // no more refetches: the only 404s are the gone run's, as they should be
    context = undefined;
    expect(new Set(notFound.map((u) => new URL(u).pathname))).toEqual(new Set(['/runs/run-gone']));
    notFound = [];
  });

  it('lists finetune jobs by name, and a job that has not started shows no "0 / 0"', async () => {
    if (!up) return;
    const dataset = path.join(runsDir, 'sms.tsv');
    writeFileSync(dataset, 'label\ttext\n' + 'spam\tWIN cash now\nham\tsee you at noon\n'.repeat(10));
    const job = await api<{ id: string }>('POST', '/finetunes', {
      kind: 'classification',
      preset: 'tiny',
      dataset,
      name: 'spam filter',
    });
    const page = await open('#/finetunes');
    const row = page.locator(`tr[data-finetune-id="${job.id}"]`);
    await row.getByText('spam filter').waitFor();
    expect(await row.locator('[data-col=progress]').textContent()).toBe('waiting for workers');

    // its page: name, where it starts from, how long so far, the hyperparameters
    await row.getByText('spam filter').click();
    await page.getByRole('heading', { name: 'spam filter' }).waitFor();
    expect(await page.getByTestId('finetune-facts').textContent()).toMatch(
      /from random weights on .*sms\.tsv; \d+s so far/,
    );
    const params = page.getByTestId('finetune-params');
    expect(await params.locator('tr[data-param="hyperparameters.epochs"] td').last().textContent()).toBe('5');
    await screenshot(page, '24-finetune-page');
    await api('POST', `/finetunes/${job.id}/cancel`);
  });
});
