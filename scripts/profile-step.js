#!/usr/bin/env node
/**
 * Where a training step's time goes: kernel times from tf.profile, plus the trainer's own phases.
 *   node scripts/profile-step.js [--preset small] [--B 4] [--T 256]   (needs npm run build)
 */
const tf = require('@tensorflow/tfjs-core');
const { initBackend } = require('@llm-forge/tfjs-backend-native');
const { GPTModel, Trainer, presetConfig } = require('@llm-forge/gpt');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const info = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const preset = arg('preset', 'small');
  const B = Number(arg('B', '4'));
  const T = Number(arg('T', preset === 'tiny' ? '64' : '256'));
  const model = GPTModel.random(presetConfig(preset, { dropRate: 0 }), 0);
  const trainer = new Trainer(model, {
    schedule: { lr: 1e-4, minLr: 1e-4, warmupSteps: 0, totalSteps: 10, schedule: 'constant' },
  });
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 50257);
  const batch = { inputs: ids, targets: ids.map((x) => (x + 1) % 50257), batchSize: B, contextLength: T };
  trainer.step([batch]);
  let t0 = performance.now();
  trainer.computeGradients([batch]);
  const gradMs = performance.now() - t0;
  t0 = performance.now();
  trainer.applyGradients();
  const applyMs = performance.now() - t0;
  const profile = await tf.profile(() => trainer.computeGradients([batch]));
  const byKernel = new Map();
  for (const k of profile.kernels) {
    const e = byKernel.get(k.name) || { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    byKernel.set(k.name, e);
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernelTotal = rows.reduce((a, [, e]) => a + e.ms, 0);
  console.log(
    `backend ${info.name}, ${preset} B=${B} T=${T}: gradients ${gradMs.toFixed(0)} ms (kernels ${kernelTotal.toFixed(0)} ms), clip+AdamW+write ${applyMs.toFixed(0)} ms`,
  );
  for (const [name, e] of rows.slice(0, 25))
    console.log(`${name.padEnd(32)} ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.calls).padStart(4)} calls`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
