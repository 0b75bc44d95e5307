#!/usr/bin/env node
/**
 * Where a training step's time goes: per kernel, the wall time and the CPU time of the process
 * (every thread) from tf.profile, plus the step's phases (gradients, clip + AdamW) and what runs
 * between kernels. CPU time is the figure to compare across runs on a shared machine: wall time
 * grows with other work, CPU time much less.
 *
 *   node scripts/profile-step.js [--preset small] [--B 8] [--T 256] [--top 25] [--shapes]   (needs npm run build)
 *   node scripts/profile-step.js --memory [--preset gpt2-small --B 4]
 *
 * --shapes lists each matmul shape apart (input shapes → output shape) with its GFLOP/s.
 *
 * --memory instead samples the process's memory (process.memoryUsage) and tfjs's tensor bytes
 * (tf.memory) after every kernel of one step and prints where each peaks, what the trainer's flat
 * buffers hold, and a timeline over the step: what holds the memory at the process's peak. (With
 * the native backend's malloc tuning RSS does not fall, so its peak is usually the warm-up step's;
 * the array buffers, which include tensors freed but not yet collected, show the step's own peak.)
 *
 * FORGE_NATIVE_ADDON=<file> profiles another build of the addon (an earlier one, for a before/after).
 */
const tf = require('@tensorflow/tfjs-core');
const { initBackend, settleHugePages } = require('@llm-forge/tfjs-backend-native');
const { GPTModel, Trainer, presetConfig } = require('@llm-forge/gpt');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Milliseconds of wall and CPU time (user + system, every thread) that fn takes. */
function measure(fn) {
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  const result = fn();
  const c = process.cpuUsage(c0);
  return { result, wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

/**
 * Records the CPU time of every kernel the backend times: tf.profile calls backend.time once per
 * kernel, in the order of profile.kernels, and the cpu backend's time() runs the kernel before it
 * returns its promise.
 */
function recordKernelCpu(backend) {
  const cpu = [];
  const time = backend.time.bind(backend);
  backend.time = (f) => {
    const c0 = process.cpuUsage();
    const timing = time(f);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    return timing;
  };
  return cpu;
}

const shapes = (list) =>
  (list || [])
    .filter(Boolean)
    .map((shape) => `[${shape.join(',')}]`)
    .join(' ');

/**
 * FLOPs of a matmul kernel from its shapes: 2·M·N·K per product, K the inner size (the one input
 * dimension that is not in the output; for a [M, K] x [K, N] or any transposes of them), times the
 * batch. 0 for other kernels.
 */
function matMulFlops(k) {
  if (!/MatMul/.test(k.name) || !k.inputShapes || !k.outputShapes) return 0;
  const [a] = k.inputShapes;
  const out = k.outputShapes[0];
  const [M, N] = out.slice(-2);
  const batch = out.slice(0, -2).reduce((p, d) => p * d, 1);
  const [a0, a1] = a.slice(-2);
  const K = a0 === M ? a1 : a0;
  return 2 * batch * M * N * K;
}

const MB = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** process.memoryUsage and tf.memory after every kernel of one step; the peaks and a timeline. */
async function memoryProfile(trainer, batch) {
  const backend = tf.backend();
  const time = backend.time.bind(backend);
  const samples = [];
  const sample = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, arrayBuffers: m.arrayBuffers, heapUsed: m.heapUsed, tensors: tf.memory().numBytes };
  };
  backend.time = (f) => {
    const timing = time(f);
    samples.push(sample());
    return timing;
  };
  const start = sample();
  const profile = await tf.profile(() => trainer.computeGradients([batch]));
  backend.time = time;
  const afterGrads = sample();
  trainer.applyGradients();
  const afterApply = sample();
  const names = profile.kernels.map((k) => k.name);
  const at = (i) => `kernel ${i + 1}/${samples.length} ${names[i]}`;
  const peak = (key) => samples.reduce((best, s, i) => (s[key] > samples[best][key] ? i : best), 0);
  const describe = (s) =>
    `rss ${MB(s.rss)}, tensors ${MB(s.tensors)}, array buffers ${MB(s.arrayBuffers)}, JS heap ${MB(s.heapUsed)}`;
  const n = trainer.params.length;
  console.log(
    `trainer's flat buffers: parameters (the variables are views of them), gradients, AdamW m and v: 4 x ${MB(4 * n)}`,
  );
  console.log(`before the step:       ${describe(start)}`);
  const pt = peak('tensors');
  console.log(`peak of tensors:       ${describe(samples[pt])} (${at(pt)})`);
  const pa = peak('arrayBuffers');
  console.log(`peak of array buffers: ${describe(samples[pa])} (${at(pa)})`);
  const pr = peak('rss');
  console.log(`peak of rss:           ${describe(samples[pr])} (${at(pr)})`);
  console.log(`after the gradients:   ${describe(afterGrads)} (copied into the flat gradients)`);
  console.log(`after clip + AdamW:    ${describe(afterApply)}`);
  console.log(
    `process peak RSS (ru_maxrss, warm-up step included): ${MB(process.resourceUsage().maxRSS * 1024)}`,
  );
  console.log('timeline (every tenth of the kernels):');
  for (let k = 0; k < 10; k++) {
    const i = Math.min(samples.length - 1, Math.round(((k + 1) * samples.length) / 10) - 1);
    console.log(`  ${at(i).padEnd(44)} ${describe(samples[i])}`);
  }
}

async function main() {
  const info = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const preset = arg('preset', 'small');
  const B = Number(arg('B', '8'));
  const T = Number(arg('T', preset === 'tiny' ? '64' : '256'));
  const model = GPTModel.random(presetConfig(preset, { dropRate: 0 }), 0);
  const trainer = new Trainer(model, {
    schedule: { lr: 1e-4, minLr: 1e-4, warmupSteps: 0, totalSteps: 10, schedule: 'constant' },
  });
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 50257);
  const batch = { inputs: ids, targets: ids.map((x) => (x + 1) % 50257), batchSize: B, contextLength: T };
  trainer.step([batch]); // warm-up
  settleHugePages(); // as the training loop does after its first step (FORGE_HUGE_PAGES=0: not)
  if (process.argv.includes('--memory')) return memoryProfile(trainer, batch);
  const grads = measure(() => trainer.computeGradients([batch]));
  const apply = measure(() => trainer.applyGradients());
  const kernelCpu = recordKernelCpu(tf.backend());
  const profile = await tf.profile(() => trainer.computeGradients([batch]));
  const byShape = process.argv.includes('--shapes');
  const byKernel = new Map();
  profile.kernels.forEach((k, i) => {
    // An op that wraps its kernel (fusedMatMul__op) is timed around it too: count the kernel once.
    if (k.name.endsWith('__op')) return;
    const key =
      byShape && /MatMul/.test(k.name)
        ? `${k.name} ${shapes(k.inputShapes)} → ${shapes(k.outputShapes)}`
        : k.name;
    const e = byKernel.get(key) || { ms: 0, cpuMs: 0, calls: 0, flops: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.cpuMs += kernelCpu[i] ?? 0;
    e.calls++;
    e.flops += matMulFlops(k);
    byKernel.set(key, e);
  });
  const rows = [...byKernel.entries()].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
  const total = rows.reduce((a, [, e]) => ({ ms: a.ms + e.ms, cpuMs: a.cpuMs + e.cpuMs }), {
    ms: 0,
    cpuMs: 0,
  });
  const ms = (x) => x.toFixed(0).padStart(6);
  console.log(
    `backend ${info.name} (${info.numThreads} threads), ${preset} B=${B} T=${T}: gradients ${ms(grads.wallMs)} ms wall, ${ms(grads.cpuMs)} ms CPU;` +
      ` clip + AdamW ${ms(apply.wallMs)} ms wall, ${ms(apply.cpuMs)} ms CPU;` +
      ` kernels ${ms(total.ms)} ms wall, ${ms(total.cpuMs)} ms CPU (the rest of the gradients is tfjs and JavaScript between kernels)`,
  );
  console.log(
    `${'kernel'.padEnd(30)} ${'wall ms'.padStart(8)} ${'CPU ms'.padStart(8)} ${'CPU %'.padStart(6)} calls`,
  );
  for (const [name, e] of rows.slice(0, Number(arg('top', '25'))))
    console.log(
      `${name.padEnd(30)} ${e.ms.toFixed(1).padStart(8)} ${e.cpuMs.toFixed(1).padStart(8)} ${((100 * e.cpuMs) / total.cpuMs).toFixed(1).padStart(6)} ${String(e.calls).padStart(5)}` +
        (e.flops ? ` ${(e.flops / e.ms / 1e6).toFixed(0).padStart(6)} GFLOP/s` : ''),
    );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
