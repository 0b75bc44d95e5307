#!/usr/bin/env node
/**
 * Scale-out across simulated hosts (`npm run bench:scaling`): for each preset, link and sync mode,
 * the real coordinator, Redis and N workers — each worker a host of its own (a network namespace
 * with its own address, pinned to its own core, its link shaped with tc tbf; scripts/multihost) —
 * train the same run, and this prints tokens/s, efficiency = tokens/s(N) / (N × tokens/s(1)),
 * compute and communication ms per step and bytes per step. Tokens/s is per the coordinator's step
 * times (each flow's wall time, scheduling included); "steady eff." is the same ratio over the
 * slowest rank's step wall times (what the workers measure around each step's training; in DiLoCo,
 * where ranks meet only at outer steps, the rank whose own steps took longest), which leaves out the
 * job's start and the run's final evaluation and checkpoint.
 *
 *   sudo npm run bench:scaling -- --presets tiny,small --hosts 1,2 --links unshaped,10000,1000,100 \
 *     --modes ddp-no-overlap,ddp,diloco --steps 6 [--context 256] --rows 8 [--inner-steps 50] [--strong] \
 *     [--busy-neighbour] [--rounds 2] [--json points.json]
 *
 * --context defaults to each preset's own context up to 256 tokens (tiny: 64, small: 256). --rows is the
 * rows per worker per step (weak scaling: the global batch grows with N); --strong
 * fixes the global batch at --rows instead, and then also prints how far each N-host run's step
 * losses are from the one host's (ddp promises none). --busy-neighbour measures one host while the same
 * training (the preset at --rows and --context, outside the cluster) runs on every other core: on a
 * machine whose cores slow each other down (shared caches and memory bandwidth), that is the one
 * host an N-host run should be compared with, since each of its hosts has its neighbours busy too.
 * Modes: `ddp` (the run spec's default, overlap on where the coordinator has it), `ddp-no-overlap`
 * (`sync: {mode: 'ddp', overlap: false}`: the whole all-reduce after the backward), `diloco`
 * (H = --inner-steps). --rounds R measures every point R times, the one host first in odd rounds and
 * last in even ones, and prints each N-host point's efficiency per round (against its round's one
 * host) and their median: one run of each varies by ±5-10% on a shared machine. --json writes the
 * measured points (rewritten after each preset and mode, so a failed sweep keeps what it measured) for
 * `npm run bench:scaling-model`. Under each point, where the cores' time went over its run (start
 * included): each core's steal, the share the hypervisor took (/proc/stat), and for each process
 * (the hosts' workers, the coordinator, Redis, the neighbours) the share it ran and the share it was
 * runnable but waited for its core (schedstat), in all and for its busiest thread (a worker's compute
 * thread): a host that is kept off its core shows there, one that computes slower on it does not.
 * Needs root and ip netns; `npm run build` first.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { BRIDGE_ADDRESS, HostNetwork, hostsUnavailable, onInterrupt } = require('./multihost/hosts');
const { cpuShares, cpuSnapshot, formatCpuShares } = require('./lib/cpu-accounting');

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
    context: 0, // 0: each preset's own context, at most 256
    rows: 8,
    innerSteps: 50,
    strong: false,
    busyNeighbour: false,
    rounds: 1,
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

/**
 * Polls `predicate` every `pollMs` until it returns a value; throws after `timeoutMs`, or at once when
 * the predicate throws an error marked `fatal`.
 */
async function until(what, predicate, timeoutMs, pollMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      if (error.fatal) throw error; // e.g. the run failed: waiting longer cannot help
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/**
 * Starts Redis, the coordinator and one worker per host; returns `stop`, which stops them all, and
 * `processes`, their pids by name (`redis`, `coordinator`, `host-<i>`).
 */
async function startCluster(net, logDir) {
  const children = [];
  const processes = {};
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
    processes.redis = start('redis', 'redis-server', [
      '--port', String(REDIS_PORT), '--bind', BRIDGE_ADDRESS, '--protected-mode', 'no',
      '--save', '', '--appendonly', 'no',
    ]).pid; // prettier-ignore
    const common = {
      ...process.env,
      REDIS_URL: `redis://${BRIDGE_ADDRESS}:${REDIS_PORT}`,
      FORGE_REDIS_PREFIX: `bench${process.pid}:`,
      FORGE_CLUSTER_SECRET: SECRET,
      // A private bridge on one machine: plaintext gRPC is what the measurement is about.
      FORGE_ALLOW_INSECURE_GRPC: 'true',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', // the cluster's logs (kept only while it runs)
    };
    processes.coordinator = start('coordinator', process.execPath, [COORDINATOR], {
      ...common,
      PORT: String(API_PORT),
      FORGE_HTTP_HOST: '127.0.0.1',
      FORGE_GRPC_HOST: BRIDGE_ADDRESS,
      FORGE_GRPC_PORT: String(GRPC_PORT),
      FORGE_API_TOKEN: TOKEN,
      FORGE_RUNS_DIR: path.join(logDir, 'runs'),
    }).pid;
    await until('the coordinator', () => api('GET', '/health'), 30_000);
    const cores = os.cpus().length;
    const { oneArenaEnv } = require('@llm-forge/tfjs-backend-native');
    for (let i = 0; i < net.count; i++) {
      const host = net.host(i);
      // One malloc arena from the start, as `forge cluster up` and the worker images set it.
      const child = net.spawnOnHost(i, i % cores, process.execPath, [WORKER], oneArenaEnv({
        ...common,
        FORGE_WORKER_ID: `host-${i}`,
        FORGE_COORDINATOR_URL: `${BRIDGE_ADDRESS}:${GRPC_PORT}`,
        FORGE_COLLECTIVE_HOST: host.address,
        FORGE_ADVERTISE_HOST: host.address,
        FORGE_NUM_THREADS: '1',
      }), log(`worker-${i}`)); // prettier-ignore
      children.push(child);
      processes[`host-${i}`] = child.pid; // ip netns exec and taskset exec the worker: the same pid
    }
    await until(
      `${net.count} workers`,
      async () => (await api('GET', '/workers')).filter((w) => w.state !== 'lost').length >= net.count,
      60_000,
    );
    return { stop, processes };
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
  if (!s.length) return NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The context a preset trains at: --context, or the preset's own up to 256 tokens (tiny: 64). */
function contextOf(args, preset) {
  if (args.context) return args.context;
  const { PRESET_CONTEXT_LENGTHS } = require('@llm-forge/cluster-protocol');
  return Math.min(256, PRESET_CONTEXT_LENGTHS[preset]);
}

/**
 * A run's steps after the first (warm-up) one. DDP: medians (every step does the same work).
 * DiLoCo: means, so that the outer step — its pseudo-gradient all-reduce and outer update, once per H
 * steps — is spread over the inner steps: tokens/s is all tokens over all wall time, and
 * `steadyTokensPerSecond` the same over the slowest rank's step wall times (without the job's start
 * and the run's final evaluation and checkpoint, which the coordinator's step times include): in
 * DDP each step's slowest rank, in DiLoCo the rank whose own steps took longest.
 */
function summarise(run, mode) {
  const steps = run.metrics.slice(1);
  const tokens = steps.map((m) => (m.tokensPerSecond * m.stepMs) / 1000);
  // Per step, the slowest rank's figure (NaN: workers that do not report it).
  const slowest = (field) => steps.map((m) => Math.max(...(m.workers ?? []).map((w) => w[field] ?? NaN)));
  const slowestWall = slowest('wallMs');
  const average = mode === 'diloco' ? mean : median;
  const ranks = perRank(steps);
  // DiLoCo's ranks meet only at outer steps: the run lasts as long as its slowest rank's own steps,
  // not the sum of each step's slowest rank (which counts every rank's slower steps).
  const steadyWall = mode === 'diloco' ? Math.max(...ranks.map((r) => r.wallMs)) : median(slowestWall);
  return {
    tokensPerSecond:
      mode === 'diloco'
        ? (1000 * mean(tokens)) / mean(steps.map((m) => m.stepMs))
        : median(steps.map((m) => m.tokensPerSecond)),
    steadyTokensPerSecond: (1000 * mean(tokens)) / steadyWall, // NaN: workers without wallMs
    computeMs: average(steps.map((m) => m.computeMs)),
    commMs: average(steps.map((m) => m.commMs)),
    bytesPerStep: mean(steps.map((m) => m.bytesSent)), // summed over the ranks
    stepMs: average(steps.map((m) => m.stepMs)),
    wallMs: average(slowestWall),
    // the slowest rank's job per step: its wall time plus taking the job, the ring and the report
    jobMs: average(slowest('jobMs')),
    ranks,
    losses: run.metrics.map((m) => m.loss), // every step's, the first included
  };
}

/**
 * Each rank's mean compute and step wall time over the steps, by rank. The step-level figures are
 * the slowest rank's per step, which in DiLoCo (where ranks meet only at outer steps) overstates the
 * compute of ranks that take turns at being slower; these say whether one rank is slower throughout.
 */
function perRank(steps) {
  const byRank = new Map();
  for (const m of steps) {
    for (const w of m.workers ?? []) {
      const r = byRank.get(w.rank) ?? { rank: w.rank, computeMs: [], wallMs: [] };
      r.computeMs.push(w.computeMs);
      if (w.wallMs !== undefined) r.wallMs.push(w.wallMs);
      byRank.set(w.rank, r);
    }
  }
  return [...byRank.values()]
    .sort((a, b) => a.rank - b.rank)
    .map((r) => ({
      rank: r.rank,
      computeMs: mean(r.computeMs),
      wallMs: r.wallMs.length ? mean(r.wallMs) : NaN,
    }));
}

/**
 * Starts the --busy-neighbour load on every core but the first: this script's `--neighbour` mode,
 * one thread each; returns `stop`, which stops it, and `processes`, the pids by name (`neighbour-<core>`).
 */
function startNeighbours(args, preset) {
  const children = [];
  const processes = {};
  for (let core = 1; core < os.cpus().length; core++) {
    const neighbour = ['-c', String(core), process.execPath, __filename, '--neighbour', preset];
    const child = spawn('taskset', [...neighbour, String(args.rows), String(contextOf(args, preset))], {
      env: { ...process.env, FORGE_NUM_THREADS: '1' },
      detached: true,
      stdio: 'ignore',
    });
    children.push(child);
    processes[`neighbour-${core}`] = child.pid; // taskset execs node: the same pid
  }
  const kill = () => killGroups(children);
  const forget = onInterrupt(kill);
  const stop = () => {
    kill();
    forget();
  };
  return { stop, processes };
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
  const neighbours =
    hosts === 1 && args.busyNeighbour
      ? startNeighbours(args, preset)
      : { stop: () => undefined, processes: {} };
  try {
    const cluster = await startCluster(net, logDir);
    stop = cluster.stop;
    const processes = { ...cluster.processes, ...neighbours.processes };
    const batchSize = args.strong ? args.rows : args.rows * hosts;
    const sync = syncOf(mode, args.innerSteps);
    const run = await api('POST', '/runs', {
      model: { preset },
      contextLength: contextOf(args, preset),
      batchSize,
      steps: args.steps,
      workers: hosts,
      evalEvery: 0,
      checkpointEvery: 0,
      sync,
    });
    const before = cpuSnapshot(processes);
    const done = await until(
      `run ${run.id}`,
      async () => {
        const r = await api('GET', `/runs/${run.id}`);
        if (r.status === 'failed')
          throw Object.assign(new Error(`run ${run.id} failed: ${r.error}`), { fatal: true });
        return ['completed', 'cancelled'].includes(r.status) && r;
      },
      60 * 60_000,
      2000, // the figures are the coordinator's step times: polling more often only takes CPU from the hosts
    );
    const cpu = cpuShares(before, cpuSnapshot(processes)); // the whole run, its start included
    return { preset, hosts, rateMbit, mode, batchSize, ...summarise(done, mode), cpu };
  } finally {
    neighbours.stop();
    await stop();
    net.teardown();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/** One measured point as --json writes it (the format scripts/scaling-model.js reads). */
function jsonPoint(args, p, params) {
  return {
    date: p.date, // when the point's run ended
    preset: p.preset,
    params,
    hosts: p.hosts,
    linkMbit: p.hosts === 1 || !p.rateMbit ? null : p.rateMbit, // null: one host, or unshaped
    mode: p.mode,
    ...(p.mode === 'diloco' ? { innerSteps: args.innerSteps } : {}),
    ...(args.busyNeighbour ? { busyNeighbour: true } : {}), // one host measured beside a twin load
    globalBatch: p.batchSize,
    context: contextOf(args, p.preset),
    tokensPerSecond: p.tokensPerSecond,
    efficiency: p.efficiency,
    computeMs: p.computeMs, // the slowest rank's forward + backward
    commMs: p.commMs, // the slowest rank's all-reduces
    stepMs: p.stepMs,
    wallMs: p.wallMs, // the slowest rank's step: batch, forward, backward, waits, update (outer step)
    jobMs: p.jobMs,
    steadyTokensPerSecond: p.steadyTokensPerSecond,
    steadyEfficiency: p.steadyEfficiency,
    bytesPerStep: p.bytesPerStep, // sent by all ranks together
    bytesPerRank: p.bytesPerStep / p.hosts,
    ranks: p.ranks, // each rank's mean compute and step wall time
    cpu: p.cpu, // shares of the run's wall time: each core's steal, each process's run and wait
    losses: p.losses,
    ...(p.lossDiff !== undefined ? { lossDiff: p.lossDiff } : {}),
    cpuModel: os.cpus()[0].model,
    load: p.load,
    ...(args.rounds > 1 ? { round: p.round } : {}),
  };
}

const HEADER =
  'preset  hosts  link       mode            batch  tokens/s  efficiency  steady eff.  compute ms  comm ms  MB/step';

/** A point's first columns, which name it: preset, hosts, link and mode. */
function pointName(p) {
  const link = p.hosts === 1 ? '—' : p.rateMbit ? `${p.rateMbit} Mbit` : 'unshaped';
  return [p.preset.padEnd(7), String(p.hosts).padStart(5), link.padEnd(10), p.mode.padEnd(14)].join('  ');
}

/** One point's line: its figures and its efficiency against the one host of the same round. */
function pointLine(p) {
  const line = [
    pointName(p),
    String(p.batchSize).padStart(5),
    p.tokensPerSecond.toFixed(0).padStart(9),
    p.efficiency.toFixed(2).padStart(11),
    p.steadyEfficiency.toFixed(2).padStart(12),
    p.computeMs.toFixed(0).padStart(11),
    p.commMs.toFixed(0).padStart(8),
    (p.bytesPerStep / 1e6).toFixed(1).padStart(8),
  ].join('  ');
  const withCpu = `${line}\n        over the run: ${formatCpuShares(p.cpu)}`;
  if (p.hosts === 1) return withCpu;
  const ranks = p.ranks.map((r) => `rank ${r.rank} ${r.computeMs.toFixed(0)} / ${r.wallMs.toFixed(0)}`);
  const withRanks = `${withCpu}\n        mean compute / wall ms per step: ${ranks.join(', ')}`;
  if (p.lossDiff === undefined) return withRanks;
  const losses = p.lossDiff === 0 ? 'identical' : `differ by up to ${p.lossDiff.toExponential(2)}`;
  return `${withRanks}\n        step losses against one host's: ${losses}`;
}

/**
 * The points of one preset and mode in one round: one host, then N hosts on each link, in that
 * order in the first round, the third and so on, and reversed in the others, so that a machine
 * whose speed drifts over a run (other tenants, thermal state) weighs on the one-host baseline and
 * the N-host runs alike. Each point's efficiency is against the one host of its own round, next to
 * it in time.
 */
async function measureGroup(args, preset, mode, round) {
  const plan = [{ hosts: 1, rateMbit: 0 }]; // one host has no link to shape
  for (const rateMbit of args.links) {
    for (const hosts of args.hosts.filter((h) => h > 1)) plan.push({ hosts, rateMbit });
  }
  if (round % 2 === 1) plan.reverse();
  const points = [];
  for (const { hosts, rateMbit } of plan) {
    const p = await measure(args, { preset, hosts, rateMbit, mode });
    points.push({ ...p, round, date: new Date().toISOString(), load: os.loadavg()[0] });
  }
  const base = points.find((p) => p.hosts === 1);
  for (const p of points) {
    p.efficiency = p.tokensPerSecond / (p.hosts * base.tokensPerSecond);
    p.steadyEfficiency = p.steadyTokensPerSecond / (p.hosts * base.steadyTokensPerSecond);
    // --strong: N hosts train on the one host's global batches, so ddp promises its very losses.
    if (args.strong && p.hosts > 1) p.lossDiff = largestDifference(p.losses, base.losses);
  }
  return points.sort((a, b) => a.hosts - b.hosts || a.rateMbit - b.rateMbit);
}

/** The largest |a[i] − b[i]| over the steps (Infinity when the runs have different lengths). */
function largestDifference(a, b) {
  if (a.length !== b.length) return Infinity;
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
}

/** With several rounds: each N-host point's efficiency per round, and their median. */
function printRoundSummary(points) {
  const groups = new Map();
  for (const p of points.filter((q) => q.hosts > 1)) {
    const key = pointName(p);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  console.log('\nefficiency by round (each against the one host of its round), median:');
  for (const [key, ps] of groups) {
    const eff = ps.map((p) => p.efficiency);
    const steady = ps.map((p) => p.steadyEfficiency);
    console.log(
      `${key}  ${eff.map((e) => e.toFixed(2)).join(' / ')}  median ${median(eff).toFixed(2)}` +
        `  (steady ${steady.map((e) => e.toFixed(2)).join(' / ')}, median ${median(steady).toFixed(2)})`,
    );
  }
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
  if (!args.hosts.includes(1)) throw new Error('--hosts must include 1: efficiency is against one host');
  if (!(Number.isInteger(args.rounds) && args.rounds >= 1))
    throw new Error(`--rounds must be a whole number >= 1, got ${args.rounds}`);
  console.log(
    `# ${os.cpus()[0].model}, ${os.cpus().length} cores; ${args.steps} steps, context ${args.context || "each preset's (at most 256)"}, ` +
      `${args.rows} rows ${args.strong ? 'in the global batch' : 'per worker'}` +
      `${args.busyNeighbour ? '; one host beside a busy neighbour' : ''}; ${args.rounds} round(s);` +
      ` load ${os.loadavg()[0].toFixed(1)}`,
  );
  const points = [];
  const json = [];
  const { countParameters, presetConfig } = args.json ? require('@llm-forge/gpt') : {};
  for (let round = 0; round < args.rounds; round++) {
    if (args.rounds > 1) console.log(`round ${round + 1}`);
    console.log(HEADER);
    for (const preset of args.presets) {
      for (const mode of args.modes) {
        for (const p of await measureGroup(args, preset, mode, round)) {
          console.log(pointLine(p));
          points.push(p);
          if (args.json) json.push(jsonPoint(args, p, countParameters(presetConfig(preset))));
        }
        if (args.json) fs.writeFileSync(args.json, JSON.stringify(json, null, 1) + '\n');
      }
    }
  }
  if (args.rounds > 1) printRoundSummary(points);
}

const neighbourAt = process.argv.indexOf('--neighbour');
(neighbourAt >= 0 ? neighbour(process.argv.slice(neighbourAt + 1)) : main()).catch((error) => {
  console.error(`bench:scaling failed: ${error.message}`);
  process.exit(1);
});
