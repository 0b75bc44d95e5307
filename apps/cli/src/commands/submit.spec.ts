/**
 * `forge submit` against a stand-in coordinator that records the bodies: the spec it sends is the
 * shared defaults, with local paths made absolute and `<runId>/<checkpoint>` passed on as it is.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { FINETUNE_DEFAULTS, runSpecSchema } from '@llm-forge/cluster-protocol';
import { runForge as forge } from '../test-utils/run-forge';

/** A server answering POST /runs and POST /finetunes with a queued job, keeping each body. */
async function startCoordinator() {
  const bodies: Array<{ url: string; body: Record<string, unknown> }> = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      bodies.push({ url: req.url ?? '', body: JSON.parse(text) });
      const progress = { step: 0, totalSteps: 0, epoch: 0, attempt: 0 };
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'job-1', status: 'queued', progress, checkpointDir: '/c', outDir: '/o' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('forge submit', () => {
  const saved = { ...process.env };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-submit-'));
  let coordinator: Awaited<ReturnType<typeof startCoordinator>>;
  beforeAll(async () => {
    coordinator = await startCoordinator();
    process.env.FORGE_API_URL = coordinator.url;
    process.env.FORGE_API_TOKEN = 't';
  });
  afterAll(async () => {
    process.env = saved;
    await coordinator.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('pretrain without flags sends the quick start run, the same spec POST /runs makes of {}', async () => {
    const run = await forge('submit', 'pretrain', '--json');
    expect(run.stderr).not.toMatch(/forge:/);
    expect(run.code).toBe(0);
    const { url, body } = coordinator.bodies.at(-1)!;
    expect(url).toBe('/runs');
    expect(runSpecSchema.parse(body)).toEqual(runSpecSchema.parse({}));
  });

  it('sends local paths as absolute paths and <runId>/<checkpoint> as it is', async () => {
    const relative = path.relative(process.cwd(), path.join(tmp, 'corpus.txt'));
    await forge('submit', 'pretrain', '--text', relative, '--init', 'run-1/latest', '--json');
    expect(coordinator.bodies.at(-1)!.body).toMatchObject({
      data: { text: path.join(tmp, 'corpus.txt') },
      model: { init: 'run-1/latest' },
    });
    const local = path.relative(process.cwd(), path.join(tmp, 'model'));
    fs.mkdirSync(path.join(tmp, 'model'));
    await forge('submit', 'finetune', 'instruct', '--data', 'd.json', '--model', local, '--json');
    expect(coordinator.bodies.at(-1)).toMatchObject({
      url: '/finetunes',
      body: {
        baseCheckpoint: path.join(tmp, 'model'),
        dataset: path.resolve('d.json'),
        hyperparameters: { batchSize: FINETUNE_DEFAULTS.batchSize, lr: FINETUNE_DEFAULTS.lr },
        workers: FINETUNE_DEFAULTS.workers,
        checkpointEvery: FINETUNE_DEFAULTS.checkpointEvery,
      },
    });
  });

  it('refuses --data with --text, but not --data with the default text', async () => {
    const both = await forge('submit', 'pretrain', '--data', tmp, '--text', 'builtin:moby-dick');
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/give either --data or --text, not both/);
    const data = await forge('submit', 'pretrain', '--data', tmp, '--json');
    expect(data.code).toBe(0);
    expect(coordinator.bodies.at(-1)!.body).toMatchObject({ data: { manifest: tmp } });
    expect(coordinator.bodies.at(-1)!.body.data).not.toHaveProperty('text');
  });
});
