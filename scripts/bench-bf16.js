#!/usr/bin/env node
/**
 * The effect of sending gradients as bf16 on the loss curve: the same data-parallel run (N ranks on
 * loopback, one process) with the f32 and the bf16 wire, step by step, and the time spent in the
 * all-reduce.
 *
 *   npm run bench:bf16 [-- --ranks 2 --steps 150 --preset tiny --batch 8 --context 64]
 *
 * Data: the built-in corpus, in order (no shuffle), dropout 0, the same seeds for both runs. The rings
 * use a worker's kernels (the native addon's reduction and bf16 codec) when the addon is built.
 * Needs the built libraries (`npm run build`).
 */
const { arg, startLoopbackRanks } = require('./lib/loopback-ranks');
const RANKS = Number(arg('ranks', 2));
const STEPS = Number(arg('steps', 150));
const PRESET = arg('preset', 'tiny');
const B = Number(arg('batch', 8));
const T = Number(arg('context', 64));

async function run(wireDType, tokens) {
  const { rowShare } = require('@llm-forge/training');
  const { replicas: ranks, close } = await startLoopbackRanks({
    ranks: RANKS,
    preset: PRESET,
    tokens,
    batch: B,
    context: T,
    steps: STEPS,
    loopOptions: () => ({ wireDType }),
  });
  const losses = [];
  let commMs = 0;
  let bytes = 0;
  for (let s = 0; s < STEPS; s++) {
    const metrics = await Promise.all(ranks.map((r) => r.loop.step(rowShare(r.loader.next(), B))));
    losses.push(metrics[0].loss);
    commMs += Math.max(...metrics.map((m) => m.communicationMs));
    bytes += metrics[0].bytesSent;
  }
  await close();
  return { losses, commMs, bytes };
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { builtinCorpus } = require('@llm-forge/data-shards');
  const { createTokenizer } = require('@llm-forge/gpt');
  const backend = await initBackend();
  const tokens = createTokenizer().encode(builtinCorpus().slice(0, 400_000));
  console.log(
    `bf16 vs f32 gradients on the wire: ${PRESET}, ${RANKS} ranks, B=${B}, T=${T}, ${STEPS} steps, backend ${backend.name}`,
  );
  const f32 = await run('f32', tokens);
  const bf16 = await run('bf16', tokens);
  const diffs = f32.losses.map((l, i) => Math.abs(l - bf16.losses[i]));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const tail = (xs) => mean(xs.slice(-20));
  console.log('step   f32 loss   bf16 loss   |diff|');
  for (let s = 0; s < STEPS; s += Math.max(1, Math.floor(STEPS / 10))) {
    console.log(
      `${String(s).padStart(4)}   ${f32.losses[s].toFixed(4)}     ${bf16.losses[s].toFixed(4)}      ${diffs[s].toExponential(2)}`,
    );
  }
  console.log(
    `mean of the last 20 losses: f32 ${tail(f32.losses).toFixed(4)}, bf16 ${tail(bf16.losses).toFixed(4)}`,
  );
  console.log(
    `|diff| over all steps: max ${Math.max(...diffs).toExponential(2)}, mean ${mean(diffs).toExponential(2)}`,
  );
  console.log(
    `all-reduce: f32 ${(f32.commMs / STEPS).toFixed(1)} ms/step (${(f32.bytes / STEPS / 1e6).toFixed(1)} MB sent per rank), bf16 ${(bf16.commMs / STEPS).toFixed(1)} ms/step (${(bf16.bytes / STEPS / 1e6).toFixed(1)} MB)`,
  );
}

main().catch((error) => {
  console.error(`bench:bf16: ${error.stack ?? error}`);
  process.exit(1);
});
