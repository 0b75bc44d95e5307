/**
 * `forge submit` against a stand-in coordinator that records the bodies: the spec it sends is the
 * shared defaults, with local paths made absolute and `<runId>/<checkpoint>` passed on as it is.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { FINETUNE_DEFAULTS, FINETUNE_OPTION_DEFAULTS, runSpecSchema } from '@llm-forge/cluster-protocol';
import { runForge as forge } from '../test-utils/run-forge';

/**
 * A server answering POST /runs and POST /finetunes with a queued job, keeping each body, and
 * GET /runs/job-1 with the queued `states` in turn (the last one for ever); a state `{ status: N }`
 * with a number answers that HTTP status instead (a coordinator restarting, a job Redis lost).
 */
async function startCoordinator() {
  const bodies: Array<{ url: string; body: Record<string, unknown> }> = [];
  const states: object[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      if (req.method === 'GET') {
        const state = states.length > 1 ? states.shift() : states[0];
        const failure = (state as { status?: unknown }).status;
        res.writeHead(typeof failure === 'number' ? failure : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(typeof failure === 'number' ? { message: 'unavailable' } : state));
        return;
      }
      bodies.push({ url: req.url ?? '', body: JSON.parse(text) });
      const out = (JSON.parse(text) as { out?: unknown }).out;
      if (typeof out === 'string' && out.startsWith('/etc/')) {
        // The coordinator's answer to an out beyond the runs directory (runs/path-policy.ts).
        const issue = { field: 'out', message: `${out} is outside the directories runs may write to` };
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            statusCode: 400,
            error: 'validation_failed',
            message: `invalid request: out: ${issue.message}`,
            issues: [issue],
          }),
        );
        return;
      }
      const progress = { step: 0, totalSteps: 0, epoch: 0, attempt: 0 };
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'job-1', status: 'queued', progress, checkpointDir: '/c', outDir: '/o' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url, bodies, states, close };
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

  it("exits 1 with the coordinator's refusal of a path, naming the field", async () => {
    const run = await forge('submit', 'pretrain', '--out', '/etc/forge-run', '--json');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /failed \(400\): invalid request: out: \/etc\/forge-run is outside the directories runs may write to/,
    );
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

  it('--wait says when the run trains on fewer workers than it asked for, and when all are back', async () => {
    const run = (status: string, step: number, members: number) => ({
      id: 'job-1',
      status,
      spec: { workers: 2 },
      members: Array.from({ length: members }, (_, i) => ({ workerId: `w${i}` })),
      progress: { step, totalSteps: 3, attempt: 1 },
      checkpointDir: '/c',
      metrics: Array.from({ length: step }, (_, s) => ({ step: s, loss: 5 - s, tokensPerSecond: 100 })),
    });
    coordinator.states.push(
      run('running', 1, 1),
      run('running', 1, 1),
      run('running', 2, 2),
      run('completed', 3, 2),
    );
    const waited = await forge('submit', 'pretrain', '--wait', '--json');
    expect(waited.code).toBe(0);
    expect(waited.stderr.match(/training on 1 of 2 workers/g)).toHaveLength(1);
    expect(waited.stderr).toMatch(/training on all 2 workers again/);
    expect(waited.json).toMatchObject({ status: 'completed', step_losses: [5, 4, 3] });
  });

  it('--wait rides out a coordinator restart and a job briefly absent, and gives up on a long outage', async () => {
    const run = (status: string, step: number) => ({
      id: 'job-1',
      status,
      spec: { workers: 1 },
      members: [{ workerId: 'w0' }],
      progress: { step, totalSteps: 2, attempt: 0 },
      checkpointDir: '/c',
      metrics: Array.from({ length: step }, (_, s) => ({ step: s, loss: 5 - s, tokensPerSecond: 100 })),
    });
    coordinator.states.splice(0, coordinator.states.length);
    coordinator.states.push(
      run('running', 1),
      { status: 503 },
      { status: 503 },
      { status: 404 },
      run('completed', 2),
    );
    const waited = await forge('submit', 'pretrain', '--wait', '--json');
    expect(waited.code).toBe(0);
    expect(waited.stderr).toMatch(/failed \(503\).*still waiting/);
    expect(waited.stderr).toMatch(/the coordinator answers again/);
    expect(waited.json).toMatchObject({ status: 'completed' });

    process.env.FORGE_WAIT_OUTAGE_MS = '1200';
    try {
      coordinator.states.splice(0, coordinator.states.length);
      coordinator.states.push(run('running', 1), { status: 503 });
      const gaveUp = await forge('submit', 'pretrain', '--wait', '--json');
      expect(gaveUp.code).toBe(1);
      expect(gaveUp.stderr).toMatch(
        /gave up waiting after \d+ s without an answer: GET \/runs\/job-1 failed \(503\)/,
      );
      // A refusal that asking again cannot mend (401) is not ridden out.
      coordinator.states.splice(0, coordinator.states.length);
      coordinator.states.push(run('running', 1), { status: 401 });
      const refused = await forge('submit', 'pretrain', '--wait', '--json');
      expect(refused.code).toBe(1);
      expect(refused.stderr).not.toMatch(/still waiting/);
    } finally {
      delete process.env.FORGE_WAIT_OUTAGE_MS;
    }
  });

  it('submit finetune takes the task options forge finetune takes, with the same defaults', async () => {
    const flags = ['--preset', 'tiny', '--json'];
    await forge('submit', 'finetune', 'classify', '--data', 'spamassassin', '--labels', 'spam, ham', '--pooling', 'last-non-pad', '--val-fraction', '0.2', ...flags); // prettier-ignore
    expect(coordinator.bodies.at(-1)!.body).toMatchObject({
      labels: ['spam', 'ham'],
      pooling: 'last-non-pad',
      valFraction: 0.2,
      testFraction: FINETUNE_OPTION_DEFAULTS.testFraction,
    });
    await forge('submit', 'finetune', 'instruct', '--data', 'd.json', '--eval-every', '3', '--max-new-tokens', '64', ...flags); // prettier-ignore
    expect(coordinator.bodies.at(-1)!.body).toMatchObject({
      evalEvery: 3,
      evalBatches: FINETUNE_OPTION_DEFAULTS.evalBatches,
      maxNewTokens: 64,
    });
    // A quick try on the cluster, as forge finetune --max-steps makes one alone.
    await forge('submit', 'finetune', 'classify', '--data', 'spamassassin', '--max-steps', '4', ...flags);
    expect(coordinator.bodies.at(-1)!.body).toMatchObject({ maxSteps: 4 });
  });
});
