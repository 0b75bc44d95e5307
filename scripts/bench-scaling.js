#!/usr/bin/env node
/**
 * Scale-out across simulated hosts (`npm run bench:scaling`): for each preset, link and sync mode,
 * the real coordinator, Redis and N workers — each worker a host of its own (a network namespace
 * with its own address, pinned to its own core, its link shaped with tc tbf; scripts/multihost) —
 * train the same run, and this prints tokens/s, efficiency = tokens/s(N) / (N × tokens/s(1)),
 * compute and communication ms per step and bytes per step. Tokens/s is per the coordinator's step
 * times (each flow's wall time, scheduling included); "steady eff." is the same ratio over the
 * slowest rank's step wall times (what the workers measure around each step's training), which
 * leaves out the job's start and the run's final evaluation and checkpoint.
 *
 *   sudo npm run bench:scaling -- --presets tiny,small --hosts 1,2 --links unshaped,10000,1000,100 \
 *     --modes ddp-no-overlap,ddp,diloco --steps 6 --context 256 --rows 8 [--inner-steps 50] [--strong] \
 *     [--json points.json]
 *
 * --rows is the rows per worker per step (weak scaling: the global batch grows with N); --strong
 * fixes the global batch at --rows instead. --busy-neighbour measures one host while the same
 * training (the preset at --rows and --context, outside the cluster) runs on every other core: on a
 * machine whose cores slow each other down (shared caches and memory bandwidth), that is the one
 * host an N-host run should be compared with, since each of its hosts has its neighbours busy too.
 * Modes: `ddp` (the run spec's default, overlap on where the coordinator has it), `ddp-no-overlap`
 * (`sync: {mode: 'ddp', overlap: false}`: the whole all-reduce after the backward), `diloco`
 * (H = --inner-steps). --json writes the measured points
 * (rewritten after each point, so a failed sweep keeps what it measured) for
 * `npm run bench:scaling-model`. Needs root and ip netns; `npm run build` first.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { BRIDGE_ADDRESS, HostNetwork, hostsUnavailable, onInterrupt } = require('./multihost/hosts');

const ROOT = path.resolve(__dirname, '..');
const COORDINATOR = path.join(ROOT, 'apps/coordinator/dist/main.js');
const WORKER = path.join(ROOT, 'apps/worker/dist/main.js');
const REDIS_PORT = 6391;
const API_PORT = 3391;
const GRPC_PORT = 50151;
const SECRET = 'bench-scaling-secret';
const TOKEN = 'bench-scaling-token-0123456789';

function parseArgs(argv) {
  const args = {
    presets: 'tiny',
    hosts: '1,2',
    links: 'unshaped,1000',
    modes: 'ddp',
    steps: 6,
    context: 256,
    rows: 8,
    innerSteps: 50,
    strong: false,
    busyNeighbour: false,
    json: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in args))
      throw new Error(`unknown option ${argv[i]} (see the header of scripts/bench-scaling.js)`);
    if (typeof args[key] === 'boolean') args[key] = true;
    else args[key] = typeof args[key] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  const list = (s) => String(s).split(',').filter(Boolean);
  return {
    ...args,
    presets: list(args.presets),
    hosts: list(args.hosts).map(Number),
    links: list(args.links).map((l) => (l === 'unshaped' ? 0 : Number(l))),
    modes: list(args.modes),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs the process group of each child (each was spawned detached), newest first. */
function killGroups(children) {
  for (const c of [...children].reverse()) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** A JSON request to the coordinator's API. */
async function api(method, route, body) {
  const res = await fetch(`http://127.0.0.1:${API_PORT}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Polls `predicate` every `pollMs` until it returns a value, or throws after `timeoutMs`. */
async function until(what, predicate, timeoutMs, pollMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Starts Redis, the coordinator and one worker per host; returns a function that stops them all. */
async function startCluster(net, logDir) {
  const children = [];
  const log = (name) => fs.openSync(path.join(logDir, `${name}.log`), 'a');
  const start = (name, cmd, args, env) => {
    const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', log(name), log(name)] });
    children.push(child);
    return child;
  };
  const kill = () => killGroups(children);
  const forget = onInterrupt(kill); // Redis and the coordinator run outside the namespaces
  const stop = async () => {
    kill();
    forget();
    await sleep(200);
  };
  try {
    // Redis on the bridge: protected mode off, since the workers reach it from their own namespaces.
    start('redis', 'redis-server', [
      '--port', String(REDIS_PORT), '--bind', BRIDGE_ADDRESS, '--protected-mode', 'no',
      '--save', '', '--appendonly', 'no',
    ]); // prettier-ignore
    const common = {
      ...process.env,
      REDIS_URL: `redis://${BRIDGE_ADDRESS}:${REDIS_PORT}`,
      FORGE_REDIS_PREFIX: `bench${process.pid}:`,
      FORGE_CLUSTER_SECRET: SECRET,
      // A private bridge on one machine: plaintext gRPC is what the measurement is about.
      FORGE_ALLOW_INSECURE_GRPC: 'true',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', // the cluster's logs (kept only while it runs)
    };
    start('coordinator', process.execPath, [COORDINATOR], {
      ...common,
      PORT: String(API_PORT),
      FORGE_HTTP_HOST: '127.0.0.1',
      FORGE_GRPC_HOST: BRIDGE_ADDRESS,
      FORGE_GRPC_PORT: String(GRPC_PORT),
      FORGE_API_TOKEN: TOKEN,
      FORGE_RUNS_DIR: path.join(logDir, 'runs'),
    });
    await until('the coordinator', () => api('GET', '/health'), 30_000);
    const cores = os.cpus().length;
    for (let i = 0; i < net.count; i++) {
      const host = net.host(i);
      const child = net.spawnOnHost(i, i % cores, process.execPath, [WORKER], {
        ...common,
        FORGE_WORKER_ID: `host-${i}`,
        FORGE_COORDINATOR_URL: `${BRIDGE_ADDRESS}:${GRPC_PORT}`,
        FORGE_COLLECTIVE_HOST: host.address,
        FORGE_ADVERTISE_HOST: host.address,
        FORGE_NUM_THREADS: '1',
      }, log(`worker-${i}`)); // prettier-ignore
      children.push(child);
    }
    await until(
      `${net.count} workers`,
      async () => (await api('GET', '/workers')).filter((w) => w.state !== 'lost').length >= net.count,
      60_000,
    );
    return stop;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The run spec's `sync` of a mode of --modes. */
function syncOf(mode, innerSteps) {
  if (mode === 'ddp') return { mode: 'ddp' };
  if (mode === 'ddp-no-overlap') return { mode: 'ddp', overlap: false };
  if (mode === 'diloco') return { mode, innerSteps };
  throw new Error(`unknown mode ${mode}: ddp, ddp-no-overlap or diloco`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * A run's steps after the first (warm-up) one. DDP: medians (every step does the same work).
 * DiLoCo: means, so that the outer step — its pseudo-gradient all-reduce and outer update, once per H
 * steps — is spread over the inner steps: tokens/s is all tokens over all wall time, and
 * `steadyTokensPerSecond` the same over the slowest rank's step wall times (without the job's start
 * and the run's final evaluation and checkpoint, which the coordinator's step times include).
 */
function summarise(run, mode) {
  const steps = run.metrics.slice(1);
  const tokens = steps.map((m) => (m.tokensPerSecond * m.stepMs) / 1000);
  // Per step, the slowest rank's figure (NaN: workers that do not report it).
  const slowest = (field) => steps.map((m) => Math.max(...(m.workers ?? []).map((w) => w[field] ?? NaN)));
  const slowestWall = slowest('wallMs');
  const average = mode === 'diloco' ? mean : median;
  return {
    tokensPerSecond:
      mode === 'diloco'
        ? (1000 * mean(tokens)) / mean(steps.map((m) => m.stepMs))
        : median(steps.map((m) => m.tokensPerSecond)),
    steadyTokensPerSecond: (1000 * mean(tokens)) / average(slowestWall), // NaN: workers without wallMs
    computeMs: average(steps.map((m) => m.computeMs)),
    commMs: average(steps.map((m) => m.commMs)),
    bytesPerStep: mean(steps.map((m) => m.bytesSent)), // summed over the ranks
    stepMs: average(steps.map((m) => m.stepMs)),
    wallMs: average(slowestWall),
    // the slowest rank's job per step: its wall time plus taking the job, the ring and the report
    jobMs: average(slowest('jobMs')),
    finalLoss: run.metrics.at(-1)?.loss,
  };
}

/**
 * Starts the --busy-neighbour load on every core but the first: this script's `--neighbour` mode,
 * one thread each; returns a function that stops it.
 */
function startNeighbours(args, preset) {
  const children = [];
  for (let core = 1; core < os.cpus().length; core++) {
    const neighbour = ['-c', String(core), process.execPath, __filename, '--neighbour', preset];
    children.push(
      spawn('taskset', [...neighbour, String(args.rows), String(args.context)], {
        env: { ...process.env, FORGE_NUM_THREADS: '1' },
        detached: true,
        stdio: 'ignore',
      }),
    );
  }
  const kill = () => killGroups(children);
  const forget = onInterrupt(kill);
  return () => {
    kill();
    forget();
  };
}

/** `--neighbour <preset> <rows> <context>`: training steps of the preset, until killed. */
async function neighbour([preset, rows, context]) {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { GPTModel, Trainer, presetConfig } = require('@llm-forge/gpt');
  const { SINGLE_PROCESS, TrainingLoop, rowShare } = require('@llm-forge/training');
  await initBackend();
  const config = presetConfig(preset, { contextLength: Number(context) });
  const B = Number(rows);
  const T = config.contextLength;
  const schedule = { lr: 1e-4, minLr: 1e-4, warmupSteps: 0, totalSteps: 1e9, schedule: 'constant' };
  const loop = new TrainingLoop(new Trainer(GPTModel.random(config, 0), { schedule }), SINGLE_PROCESS);
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % config.vocabSize);
  const batch = {
    inputs: ids,
    targets: ids.map((x) => (x + 1) % config.vocabSize),
    batchSize: B,
    contextLength: T,
  };
  for (;;) await loop.step(rowShare(batch, B));
}

/** One measured point: a run of `steps` steps on `hosts` hosts over links of `rateMbit`. */
async function measure(args, { preset, hosts, rateMbit, mode }) {
  const net = new HostNetwork(hosts, { rateMbit }).create();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-scaling-'));
  let stop = async () => undefined;
  const stopNeighbours = hosts === 1 && args.busyNeighbour ? startNeighbours(args, preset) : () => undefined;
  try {
    stop = await startCluster(net, logDir);
    const batchSize = args.strong ? args.rows : args.rows * hosts;
    const sync = syncOf(mode, args.innerSteps);
    const run = await api('POST', '/runs', {
      model: { preset },
      contextLength: args.context,
      batchSize,
      steps: args.steps,
      workers: hosts,
      evalEvery: 0,
      checkpointEvery: 0,
      sync,
    });
    const done = await until(
      `run ${run.id}`,
      async () => {
        const r = await api('GET', `/runs/${run.id}`);
        if (r.status === 'failed') throw Object.assign(new Error(r.error), { fatal: true });
        return ['completed', 'failed', 'cancelled'].includes(r.status) && r;
      },
      60 * 60_000,
      2000, // the figures are the coordinator's step times: polling more often only takes CPU from the hosts
    );
    return { preset, hosts, rateMbit, mode, batchSize, ...summarise(done, mode) };
  } finally {
    stopNeighbours();
    await stop();
    net.teardown();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/** One measured point as --json writes it (the format scripts/scaling-model.js reads). */
function jsonPoint(args, p, efficiency, params) {
  return {
    date: new Date().toISOString(),
    preset: p.preset,
    params,
    hosts: p.hosts,
    linkMbit: p.hosts === 1 || !p.rateMbit ? null : p.rateMbit, // null: one host, or unshaped
    mode: p.mode,
    ...(p.mode === 'diloco' ? { innerSteps: args.innerSteps } : {}),
    ...(args.busyNeighbour ? { busyNeighbour: true } : {}), // one host measured beside a twin load
    globalBatch: p.batchSize,
    context: args.context,
    tokensPerSecond: p.tokensPerSecond,
    efficiency,
    computeMs: p.computeMs, // the slowest rank's forward + backward
    commMs: p.commMs, // the slowest rank's all-reduces
    stepMs: p.stepMs,
    wallMs: p.wallMs, // the slowest rank's step: batch, forward, backward, waits, update (outer step)
    jobMs: p.jobMs,
    steadyTokensPerSecond: p.steadyTokensPerSecond,
    steadyEfficiency: p.steadyEfficiency,
    bytesPerStep: p.bytesPerStep, // sent by all ranks together
    bytesPerRank: p.bytesPerStep / p.hosts,
    cpuModel: os.cpus()[0].model,
    load: os.loadavg()[0],
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const why = hostsUnavailable();
  if (why) {
    console.log(`bench:scaling skipped: simulated hosts are unavailable here (${why})`);
    return;
  }
  for (const file of [COORDINATOR, WORKER]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  }
  console.log(
    `# ${os.cpus()[0].model}, ${os.cpus().length} cores; ${args.steps} steps, context ${args.context}, ` +
      `${args.rows} rows ${args.strong ? 'in the global batch' : 'per worker'}` +
      `${args.busyNeighbour ? '; one host beside a busy neighbour' : ''}; load ${os.loadavg()[0].toFixed(1)}`,
  );
  console.log(
    'preset  hosts  link       mode            batch  tokens/s  efficiency  steady eff.  compute ms  comm ms  MB/step',
  );
  const points = [];
  const { countParameters, presetConfig } = args.json ? require('@llm-forge/gpt') : {};
  for (const preset of args.presets) {
    const single = {};
    for (const mode of args.modes) {
      for (const rateMbit of args.links) {
        for (const hosts of args.hosts) {
          if (hosts === 1 && single[mode] !== undefined) continue; // one host has no link to shape
          const p = await measure(args, { preset, hosts, rateMbit, mode });
          if (hosts === 1) single[mode] = p;
          const base = single[mode] ?? single.ddp;
          const efficiency = base ? p.tokensPerSecond / (hosts * base.tokensPerSecond) : NaN;
          p.steadyEfficiency = base ? p.steadyTokensPerSecond / (hosts * base.steadyTokensPerSecond) : NaN;
          const link = hosts === 1 ? '—' : rateMbit ? `${rateMbit} Mbit` : 'unshaped';
          console.log(
            [
              preset.padEnd(7),
              String(hosts).padStart(5),
              link.padEnd(10),
              mode.padEnd(14),
              String(p.batchSize).padStart(5),
              p.tokensPerSecond.toFixed(0).padStart(9),
              efficiency.toFixed(2).padStart(11),
              p.steadyEfficiency.toFixed(2).padStart(12),
              p.computeMs.toFixed(0).padStart(11),
              p.commMs.toFixed(0).padStart(8),
              (p.bytesPerStep / 1e6).toFixed(1).padStart(8),
            ].join('  '),
          );
          if (args.json) {
            points.push(jsonPoint(args, p, efficiency, countParameters(presetConfig(preset))));
            fs.writeFileSync(args.json, JSON.stringify(points, null, 1) + '\n');
          }
        }
      }
    }
  }
}

const neighbourAt = process.argv.indexOf('--neighbour');
(neighbourAt >= 0 ? neighbour(process.argv.slice(neighbourAt + 1)) : main()).catch((error) => {
  console.error(`bench:scaling failed: ${error.message}`);
  process.exit(1);
});
