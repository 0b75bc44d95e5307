#!/usr/bin/env node
/**
 * Where a training step's time goes: per kernel, the wall time and the CPU time of the process
 * (every thread) from tf.profile, plus the step's phases (gradients, clip + AdamW) and what runs
 * between kernels. CPU time is the figure to compare across runs on a shared machine: wall time
 * grows with other work, CPU time much less.
 *
 *   node scripts/profile-step.js [--preset small] [--B 8] [--T 256] [--top 25]   (needs npm run build)
 *
 * FORGE_NATIVE_ADDON=<file> profiles another build of the addon (an earlier one, for a before/after).
 */
const tf = require('@tensorflow/tfjs-core');
const { initBackend } = require('@llm-forge/tfjs-backend-native');
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
  const grads = measure(() => trainer.computeGradients([batch]));
  const apply = measure(() => trainer.applyGradients());
  const kernelCpu = recordKernelCpu(tf.backend());
  const profile = await tf.profile(() => trainer.computeGradients([batch]));
  const byKernel = new Map();
  profile.kernels.forEach((k, i) => {
    // An op that wraps its kernel (fusedMatMul__op) is timed around it too: count the kernel once.
    if (k.name.endsWith('__op')) return;
    const e = byKernel.get(k.name) || { ms: 0, cpuMs: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.cpuMs += kernelCpu[i] ?? 0;
    e.calls++;
    byKernel.set(k.name, e);
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
      `${name.padEnd(30)} ${e.ms.toFixed(1).padStart(8)} ${e.cpuMs.toFixed(1).padStart(8)} ${((100 * e.cpuMs) / total.cpuMs).toFixed(1).padStart(6)} ${String(e.calls).padStart(5)}`,
    );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
