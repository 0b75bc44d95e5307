#!/usr/bin/env node
/**
 * Coordinator overhead per step: the time from a step's last rank result to the next step's first
 * rank starting, with 4 workers and an empty model — so what is measured is the scheduling path
 * alone (BullMQ flow completion → the coordinator's step processor → Redis bookkeeping → the next
 * flow → the workers' queues).
 *
 *   npm run bench:schedule [-- --workers 4 --steps 300]
 *
 * The coordinator is the real one (built app, in this process, against REDIS_URL); the workers are
 * stand-ins that register over the real gRPC control plane, take their rank jobs from their BullMQ
 * queues and answer at once. Needs the built apps (`npm run build`).
 */
const path = require('path');
const { performance } = require('perf_hooks');

const root = path.join(__dirname, '..');
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const WORKERS = arg('workers', 4);
const STEPS = arg('steps', 300);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  const grpc = require('@grpc/grpc-js');
  const { Worker } = require('bullmq');
  const IORedis = require('ioredis');
  const { coordinatorV1, METADATA_KEYS } = require('@llm-forge/proto');
  const { rankQueueName } = require('@llm-forge/cluster-protocol');
  const { createApp } = require(path.join(root, 'apps/coordinator/dist/bootstrap.js'));
  const { ControlPlaneServer } = require(
    path.join(root, 'apps/coordinator/dist/workers/control-plane.server.js'),
  );

  const prefix = `forge-bench-${process.pid}:`;
  const secret = 'bench-cluster-secret';
  // The coordinator's own config loader, so every setting it has gets its default.
  const { loadConfig } = require(path.join(root, 'apps/coordinator/dist/config/config.schema.js'));
  const config = loadConfig({
    PORT: '0',
    REDIS_URL,
    FORGE_LOCAL_MODE: 'true',
    FORGE_AUTH_DISABLED: 'true',
    FORGE_REDIS_PREFIX: prefix,
    FORGE_RUNS_DIR: path.join(require('os').tmpdir(), 'forge-bench-runs'),
    LOG_LEVEL: 'warn',
    FORGE_GRPC_PORT: '0',
    FORGE_CLUSTER_SECRET: secret,
    FORGE_WORKER_TIMEOUT_MS: '10000',
    FORGE_STEP_TIMEOUT_MS: '60000',
    FORGE_MAX_STEP_RETRIES: '0',
  });
  const { app } = await createApp(config);
  await app.init();
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();
  const grpcPort = app.get(ControlPlaneServer).port;

  // Per step: when each rank finished, when each rank started.
  const finished = new Map();
  const started = new Map();
  const note = (map, step) => {
    const t = performance.now();
    const list = map.get(step) ?? [];
    list.push(t);
    map.set(step, list);
  };

  const md = new grpc.Metadata();
  md.set(METADATA_KEYS.secret, secret);
  const stopFns = [];
  for (let i = 0; i < WORKERS; i++) {
    const id = `bench-${i}`;
    const client = new coordinatorV1.CoordinatorServiceClient(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const res = await new Promise((resolve, reject) =>
      client.registerWorker(
        { workerId: id, collectiveAddress: `127.0.0.1:${41000 + i}`, pid: process.pid },
        md,
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    const beat = setInterval(
      () =>
        client.heartbeat(
          { workerId: id, sessionId: res.sessionId, lastCompletedStep: 0, heldRunId: '', appliedSteps: 0 },
          md,
          () => undefined,
        ),
      500,
    );
    const connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(
      rankQueueName(id),
      async (job) => {
        const j = job.data;
        note(started, j.step);
        const result = {
          ok: true,
          workerId: id,
          rank: j.rank,
          step: j.step,
          appliedSteps: j.step + 1,
          jobMs: 0,
          steps: [
            {
              step: j.step,
              loss: 1,
              localLoss: 1,
              tokens: 64,
              lr: 1e-3,
              gradNorm: 1,
              computeMs: 0,
              commMs: 0,
              bytesSent: 0,
              verified: false,
            },
          ],
        };
        note(finished, j.step);
        return result;
      },
      { connection, prefix: `${prefix}bull` },
    );
    stopFns.push(async () => {
      clearInterval(beat);
      await worker.close();
      connection.disconnect();
      client.close();
    });
  }

  const spec = {
    data: { text: 'builtin:moby-dick' },
    steps: STEPS,
    workers: WORKERS,
    batchSize: WORKERS,
    evalEvery: 0,
  };
  const response = await fetch(`${base}/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(spec),
  });
  const created = await response.json();
  if (response.status !== 201)
    throw new Error(`POST /runs answered ${response.status}: ${JSON.stringify(created)}`);
  const t0 = performance.now();
  for (;;) {
    const run = await (await fetch(`${base}/runs/${created.id}`)).json();
    if (run.status === 'completed' || run.status === 'failed') {
      if (run.status === 'failed') throw new Error(run.error);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const wall = performance.now() - t0;

  const gaps = [];
  for (let s = 1; s < STEPS; s++) {
    const prevEnd = Math.max(...(finished.get(s - 1) ?? [NaN]));
    const nextStart = Math.min(...(started.get(s) ?? [NaN]));
    if (Number.isFinite(prevEnd) && Number.isFinite(nextStart)) gaps.push(nextStart - prevEnd);
  }
  gaps.sort((a, b) => a - b);
  const fmt = (x) => x.toFixed(2);
  console.log(
    `coordinator overhead per step, ${WORKERS} workers, ${STEPS} steps, empty model (Redis ${REDIS_URL})`,
  );
  console.log(
    `  median ${fmt(quantile(gaps, 0.5))} ms   p90 ${fmt(quantile(gaps, 0.9))} ms   p99 ${fmt(quantile(gaps, 0.99))} ms   max ${fmt(gaps.at(-1))} ms`,
  );
  console.log(
    `  ${fmt(wall / STEPS)} ms per step end to end (${(STEPS / (wall / 1000)).toFixed(0)} steps/s)`,
  );
  console.log(`  bar: median under 10 ms -> ${quantile(gaps, 0.5) < 10 ? 'met' : 'NOT met'}`);

  for (const stop of stopFns) await stop();
  await app.close();
  const redis = new IORedis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench:schedule: ${error.stack ?? error}`);
    process.exit(1);
  },
);
