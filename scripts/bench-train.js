#!/usr/bin/env node
/**
 * Training throughput against PyTorch: tokens/s of full training steps (forward, backward, clip,
 * AdamW) of LLM Forge beside Debian's PyTorch run two ways, in interleaved rounds:
 *
 *   - stock: `/usr/bin/python3` as installed (pthread OpenBLAS, glibc malloc);
 *   - tuned: the same with the OpenMP build of OpenBLAS and tcmalloc, changing no system file
 *     (`LD_LIBRARY_PATH=<openblas-openmp> LD_PRELOAD=<libtcmalloc_minimal.so.4>`).
 *
 *   npm run bench:train [-- --configs small,gpt2-small --rounds 5 --steps 3 --backend native]
 *                       [-- --baseline-addon <forge_native.node of an earlier build>]
 *                       [-- --baseline-env FORGE_BACKPROP=tfjs[,NAME=VALUE...]]
 *                       [-- --drop-rate 0.1] [-- --load 1]
 *
 * Every run is its own process (so peak RSS is its own) and each round runs forge, tuned and stock
 * in a rotated order, so that load from other work falls on all three alike. Per config it prints the
 * median over rounds of tokens/s, the median of the per-round ratios forge / tuned, the round-to-round
 * spread ((max - min) / median), peak RSS, and the share of the GEMM ceiling: the best sgemm rate
 * (forge's GEMM and tuned PyTorch's torch.mm, measured in the same rounds on the model's GEMM shapes)
 * divided into the model FLOPs per token (6N + attention, as the reference script counts them).
 * Where PyTorch or its tuning is unavailable it says so. With --baseline-addon each round also runs
 * forge on that build of the addon ("before"), for a before/after under the same load; with
 * --baseline-env the "before" runs forge with those environment variables (e.g. FORGE_BACKPROP=tfjs:
 * tfjs-core's own backprop), on the given addon or this one. --drop-rate trains forge with that
 * dropout (default 0: the reference script has none, so only 0 compares like with like; 0.1 is the
 * GPT-2 presets' default and measures what dropout costs). --load K runs K other jobs on the machine
 * for the whole benchmark, each one thread streaming over 64 MiB (another process's compute and
 * memory traffic), so every contender meets the same steady load: "steady under load" measured, not
 * left to whatever else happens to run. Needs `npm run build`.
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

/** B and T per config; `torch` names the reference script's config of the same architecture. */
const CONFIGS = {
  tiny: { preset: 'tiny', B: 4, T: 64, torch: null },
  small: { preset: 'small', B: 8, T: 256, torch: 'small' },
  'gpt2-small': { preset: 'gpt2-small', B: 4, T: 256, torch: '124m' },
};

const PYTHON = '/usr/bin/python3';
const REFERENCE = path.resolve(__dirname, '../../shared/bench/pytorch_reference_step.py');
const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
const TCMALLOC = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4';
const TUNED_ENV = { LD_LIBRARY_PATH: OPENBLAS_OPENMP, LD_PRELOAD: TCMALLOC };

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Model FLOPs per token, as the reference script counts them: 6 N (tied) + 12 L T C. */
function flopsPerToken(config, T) {
  const { vocabSize: V, contextLength: CTX, nLayers: L, embDim: C } = config;
  const n = V * C + CTX * C + L * (12 * C * C + 13 * C) + 2 * C;
  return 6 * n + 12 * L * T * C;
}

/** The [M, K, N] of every GEMM of one training step (forward, dX and dW of each linear layer). */
function gemmShapes(config, B, T) {
  const { vocabSize: V, embDim: C } = config;
  const N = B * T;
  const linears = [
    [N, C, 3 * C],
    [N, C, C],
    [N, C, 4 * C],
    [N, 4 * C, C],
  ];
  const step = (rows) =>
    rows.flatMap(([m, k, n]) => [
      [m, k, n],
      [m, n, k],
      [k, m, n],
    ]);
  return { layer: step(linears), head: step([[N, C, V]]) };
}

/** Child: timed training steps on forge, one RESULT line. */
async function forgeChild() {
  const { preset, B, T } = CONFIGS[arg('config')];
  const steps = Number(arg('steps', '3'));
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { GPTModel, Trainer, presetConfig } = require('@llm-forge/gpt');
  const { SINGLE_PROCESS, TrainingLoop, rowShare } = require('@llm-forge/training');
  const backend = await initBackend(arg('backend', 'native'));
  const config = presetConfig(preset, { dropRate: Number(arg('drop-rate', '0')) });
  const model = GPTModel.random(config, 0);
  const trainer = new Trainer(model, {
    schedule: { lr: 1e-4, minLr: 1e-4, warmupSteps: 0, totalSteps: 100, schedule: 'constant' },
  });
  const batch = () => {
    const ids = Int32Array.from({ length: B * T }, () => Math.floor(Math.random() * config.vocabSize));
    return {
      inputs: ids,
      targets: ids.map((x) => (x + 1) % config.vocabSize),
      batchSize: B,
      contextLength: T,
    };
  };
  // The step `forge train` and every worker take: the one training loop at world size 1.
  const loop = new TrainingLoop(trainer, SINGLE_PROCESS);
  const times = [];
  for (let s = 0; s < steps + 1; s++) {
    const t0 = performance.now();
    await loop.step(rowShare(batch(), B));
    times.push((performance.now() - t0) / 1000);
  }
  const stepS = median(times.slice(1)); // the first step includes warm-up
  const result = {
    backend: backend.name,
    tok_s: (B * T) / stepS,
    steps_s: times.slice(1),
    maxrss_mib: process.resourceUsage().maxRSS / 1024,
    flops_per_token: flopsPerToken(config, T),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** Child: GFLOP/s of forge's GEMM (the native addon, as the backend calls it) on a config's shapes. */
async function gemmChild() {
  const { preset, B, T } = CONFIGS[arg('config')];
  const { initBackend, nativeAddonStatus } = require('@llm-forge/tfjs-backend-native');
  const { presetConfig } = require('@llm-forge/gpt');
  await initBackend('native');
  const addon = require(nativeAddonStatus().path);
  const { layer, head } = gemmShapes(presetConfig(preset), B, T);
  let flops = 0;
  let seconds = 0;
  for (const [M, K, N] of [...layer, ...head]) {
    const a = new Float32Array(M * K).fill(0.5);
    const b = new Float32Array(K * N).fill(0.25);
    const c = new Float32Array(M * N);
    const offsets = new Int32Array([0, 0, 0]);
    const once = () => addon.gemmBatch(false, false, M, N, K, 1, a, K, b, N, 0, c, N, offsets);
    once(); // warm-up: page in the operands
    const times = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      once();
      times.push((performance.now() - t0) / 1000);
    }
    flops += 2 * M * N * K;
    seconds += Math.min(...times);
  }
  process.stdout.write(`RESULT ${JSON.stringify({ gflops: flops / seconds / 1e9 })}\n`);
}

/** Python: GFLOP/s of torch.mm on the same shapes (run under the tuned environment). */
const TORCH_GEMM = `
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
def best(a, b):
    times = []
    for _ in range(3):
        t0 = time.perf_counter(); torch.mm(a, b); times.append(time.perf_counter() - t0)
    return min(times)
flops = seconds = 0.0
for m, k, n in json.loads(sys.argv[2]):
    a, b = torch.full((m, k), 0.5), torch.full((k, n), 0.25)
    torch.mm(a, b)  # warm-up: page in the operands
    flops += 2 * m * n * k; seconds += best(a, b)
print("RESULT " + json.dumps({"gflops": flops / seconds / 1e9}))
`;

/** Runs a command and parses its RESULT line, or returns { error }. */
function runResult(file, args, env) {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return JSON.parse(line.slice('RESULT '.length));
  return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') };
}

/**
 * Which PyTorch variants can run, each with its environment, or the reason it cannot. Tuning is
 * checked by loading torch under the tuned environment and reading which libraries it mapped.
 */
function pytorchVariants() {
  if (!fs.existsSync(REFERENCE)) return { skipped: `${REFERENCE} not found` };
  const probe = `import torch; torch.mm(torch.ones(64, 64), torch.ones(64, 64)); print(open('/proc/self/maps').read())`;
  const stock = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8' });
  if (stock.status !== 0)
    return { skipped: 'python3-torch is not installed (apt-get install python3-torch)' };
  const variants = { stock: { env: {} } };
  const missing = [OPENBLAS_OPENMP + '/libopenblas.so.0', TCMALLOC].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    variants.tuned = {
      unavailable: `${missing.join(' and ')} missing (apt-get install libopenblas0-openmp libtcmalloc-minimal4)`,
    };
    return variants;
  }
  const tuned = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8', env: { ...process.env, ...TUNED_ENV } });
  const maps = tuned.stdout || '';
  if (tuned.status !== 0 || !maps.includes('openblas-openmp') || !maps.includes('tcmalloc')) {
    variants.tuned = {
      unavailable: 'torch did not load the OpenMP OpenBLAS and tcmalloc under LD_LIBRARY_PATH/LD_PRELOAD',
    };
    return variants;
  }
  variants.tuned = { env: TUNED_ENV };
  return variants;
}

/** One PyTorch run of the reference step: tokens/s, per-step seconds and peak RSS. */
function pytorchRun(configName, env, steps) {
  const { B, T, torch } = CONFIGS[configName];
  const threads = String(os.availableParallelism());
  const args = [REFERENCE, '--config', torch, '--B', String(B), '--T', String(T), '--threads', threads];
  const r = runResult(PYTHON, [...args, '--warmup', '1', '--steps', String(steps)], env);
  if (r.error) return r;
  return { tok_s: r.tok_s_median, steps_s: r.steps_ms.map((ms) => ms / 1000), maxrss_mib: r.maxrss_mib };
}

/** One round of one config: forge, the PyTorch variants and both GEMM rates, in a rotated order. */
function round(configName, r, variants, opts) {
  const self = [__filename, '--config', configName, '--steps', String(opts.steps)];
  const forge = [
    ...self,
    '--child',
    'forge',
    '--backend',
    opts.backend,
    '--drop-rate',
    String(opts.dropRate),
  ];
  const runs = {
    forge: () => runResult(process.execPath, forge),
    gemm: () => runResult(process.execPath, [...self, '--child', 'gemm']),
  };
  if (opts.baselineAddon || opts.baselineEnv) {
    const env = {
      ...(opts.baselineAddon && { FORGE_NATIVE_ADDON: opts.baselineAddon }),
      ...opts.baselineEnv,
    };
    runs.before = () => runResult(process.execPath, forge, env);
  }
  for (const [name, v] of Object.entries(variants)) {
    if (v.env && CONFIGS[configName].torch) runs[name] = () => pytorchRun(configName, v.env, opts.steps);
  }
  if (variants.tuned?.env) {
    const { B, T, preset } = CONFIGS[configName];
    const { presetConfig } = require('@llm-forge/gpt');
    const { layer, head } = gemmShapes(presetConfig(preset), B, T);
    const threads = String(os.availableParallelism());
    const shapes = JSON.stringify([...layer, ...head]);
    runs.torch_gemm = () => runResult(PYTHON, ['-c', TORCH_GEMM, threads, shapes], TUNED_ENV);
  }
  const names = Object.keys(runs);
  const order = names.map((_, i) => names[(i + r) % names.length]);
  const out = {};
  for (const name of order) out[name] = runs[name]();
  return out;
}

/**
 * The source of one --load job: one thread summing a 64 MiB array over and over, forever (it is
 * killed when the benchmark ends). A stream rather than a register-only spin, so that it competes for
 * the caches and memory bandwidth as well as for a core, as another training or build would.
 */
const LOAD_JOB = `
const a = new Float64Array(8 << 20).fill(1);
let s = 0;
for (;;) for (let i = 0; i < a.length; i += 8) s += a[i];
`;

/**
 * Starts `count` load jobs; returns a function that stops them (also called on exit). With none, the
 * process's signal handling stays as it was.
 */
function startLoad(count) {
  if (count === 0) return () => undefined;
  const jobs = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', LOAD_JOB], { stdio: 'ignore' }),
  );
  const stop = () => jobs.forEach((job) => job.kill('SIGKILL'));
  process.on('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  return stop;
}

const fmt = (x, digits = 0) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

/** The summary of one config over its rounds. */
function summarise(configName, rounds) {
  const ok = (name) => rounds.map((r) => r[name]).filter((x) => x && !x.error);
  const tok = (name) => ok(name).map((x) => x.tok_s);
  const spread = (xs) => (xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : NaN);
  const ratios = rounds
    .filter((r) => r.forge?.tok_s && r.tuned?.tok_s)
    .map((r) => r.forge.tok_s / r.tuned.tok_s);
  const gemm = rounds
    .map((r) => Math.max(r.gemm?.gflops ?? 0, r.torch_gemm?.gflops ?? 0))
    .filter((g) => g > 0);
  const flops = ok('forge')[0]?.flops_per_token;
  const ceiling = gemm.length && flops ? (median(gemm) * 1e9) / flops : NaN;
  const row = { config: configName, ...CONFIGS[configName], rounds: rounds.length };
  for (const name of ['forge', 'before', 'tuned', 'stock']) {
    row[name] = {
      tok_s: tok(name),
      median: tok(name).length ? median(tok(name)) : NaN,
      spread: spread(tok(name)),
      peak_rss_mib: ok(name).length ? Math.max(...ok(name).map((x) => x.maxrss_mib)) : NaN,
      errors: rounds.map((r) => r[name]?.error).filter(Boolean),
    };
  }
  row.ratio_tuned = ratios.length ? median(ratios) : NaN;
  const before = rounds
    .filter((r) => r.forge?.tok_s && r.before?.tok_s)
    .map((r) => r.forge.tok_s / r.before.tok_s);
  row.ratio_before = before.length ? median(before) : NaN;
  row.ratios = ratios;
  row.gemm_gflops = gemm;
  row.forge_gemm_gflops = rounds.map((r) => r.gemm?.gflops).filter(Boolean);
  row.torch_gemm_gflops = rounds.map((r) => r.torch_gemm?.gflops).filter(Boolean);
  row.ceiling_tok_s = ceiling;
  row.ceiling_share = row.forge.median / ceiling;
  return row;
}

function report(row) {
  const line = (name) => {
    const s = row[name];
    if (!s.tok_s.length) return `  ${name.padEnd(6)} ${s.errors[0] ?? 'not run'}`;
    return `  ${name.padEnd(6)} median ${fmt(s.median, 1).padStart(7)} tok/s  rounds ${s.tok_s.map((x) => fmt(x)).join(' / ')}  spread ${fmt(100 * s.spread)}%  peak RSS ${fmt(s.peak_rss_mib)} MiB`;
  };
  console.log(`${row.config} B=${row.B} T=${row.T}, ${row.rounds} rounds, ${row.load} load job(s)`);
  ['forge', 'before', 'tuned', 'stock']
    .filter((n) => n !== 'before' || row.before.tok_s.length)
    .forEach((name) => console.log(line(name)));
  console.log(
    `  forge / tuned: median ${fmt(row.ratio_tuned, 2)}x (rounds ${row.ratios.map((x) => fmt(x, 2)).join(' / ')});` +
      ` forge / stock ${fmt(row.forge.median / row.stock.median, 2)}x` +
      (row.before.tok_s.length ? `; forge / before: median ${fmt(row.ratio_before, 2)}x` : ''),
  );
  console.log(
    `  GEMM ceiling: ${fmt(median(row.gemm_gflops))} GFLOP/s (forge ${row.forge_gemm_gflops.map((g) => fmt(g)).join('/')},` +
      ` torch ${row.torch_gemm_gflops.map((g) => fmt(g)).join('/') || '—'}) = ${fmt(row.ceiling_tok_s)} tok/s;` +
      ` forge at ${fmt(100 * row.ceiling_share)}%, tuned at ${fmt((100 * row.tuned.median) / row.ceiling_tok_s)}%`,
  );
}

/** `NAME=VALUE,NAME=VALUE` as an environment object (undefined when not given). */
function parseEnv(list) {
  if (!list) return undefined;
  return Object.fromEntries(
    list.split(',').map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`--baseline-env: ${JSON.stringify(pair)} is not NAME=VALUE`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

function main() {
  const configs = arg('configs', 'small,gpt2-small').split(',');
  const unknown = configs.filter((c) => !CONFIGS[c]);
  if (unknown.length)
    throw new Error(`unknown config ${unknown.join(', ')}: one of ${Object.keys(CONFIGS).join(', ')}`);
  const baselineAddon = arg('baseline-addon');
  if (baselineAddon && !fs.existsSync(baselineAddon))
    throw new Error(`--baseline-addon ${baselineAddon} not found`);
  const opts = {
    rounds: Number(arg('rounds', '5')),
    steps: Number(arg('steps', '3')),
    backend: arg('backend', 'native'),
    baselineAddon: baselineAddon && path.resolve(baselineAddon),
    baselineEnv: parseEnv(arg('baseline-env')),
    dropRate: Number(arg('drop-rate', '0')),
    load: Number(arg('load', '0')),
  };
  if (!Number.isInteger(opts.load) || opts.load < 0)
    throw new Error(`--load must be a whole number of jobs (0 or more), got ${arg('load')}`);
  if (!(opts.dropRate >= 0 && opts.dropRate < 1))
    throw new Error(`--drop-rate must be in [0, 1), got ${arg('drop-rate')}`);
  const [l1, l5] = os.loadavg();
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; load average ${l1.toFixed(2)} (1 min) ${l5.toFixed(2)} (5 min); forge drop rate ${opts.dropRate}; ${opts.load} load job(s)`,
  );
  const stopLoad = startLoad(opts.load);
  const variants = pytorchVariants();
  if (variants.skipped) console.log(`pytorch: skipped: ${variants.skipped}`);
  for (const [name, v] of Object.entries(variants)) {
    if (v.unavailable) console.log(`pytorch ${name}: unavailable: ${v.unavailable}`);
  }
  const torchVariants = variants.skipped ? {} : variants;
  const rounds = Object.fromEntries(configs.map((c) => [c, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const [i, c] of configs.entries()) {
      // Each config starts its rotation one program further on, so whatever the first run after
      // a config change costs (a cold page cache, a new model size) does not always fall on forge.
      const res = round(c, r + i, torchVariants, opts);
      rounds[c].push(res);
      const brief = Object.entries(res).map(
        ([k, v]) => `${k} ${v.error ? 'failed: ' + v.error : fmt(v.tok_s ?? v.gflops)}`,
      );
      console.log(`round ${r + 1} ${c}: ${brief.join(', ')}`);
    }
  }
  stopLoad();
  const rows = configs.map((c) => ({ ...summarise(c, rounds[c]), load: opts.load }));
  rows.forEach(report);
  const [e1] = os.loadavg();
  console.log(`load average at the end: ${e1.toFixed(2)}`);
  console.log(`RESULTS ${JSON.stringify(rows)}`);
}

const childKind = arg('child');
if (childKind) {
  (childKind === 'gemm' ? gemmChild : forgeChild)().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else main();
