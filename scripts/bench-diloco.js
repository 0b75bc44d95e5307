#!/usr/bin/env node
/**
 * DiLoCo's quality against DDP on the same data and tokens (issue 13): N ranks on loopback (one
 * process), the same model, seeds and global batches; DDP sums the gradients every step, DiLoCo
 * takes H inner steps per rank on its own slice and then an outer Nesterov step (outer lr 0.7,
 * momentum 0.9). Prints the training loss every few steps, the validation loss at the end, and the
 * bytes each rank sent.
 *
 *   npm run bench:diloco [-- --ranks 2 --steps 300 --inner 10,50 --preset tiny --batch 8 --context 64]
 *
 * Data: the built-in corpus (its first 90% to train, in order, the rest for validation). Needs the
 * built libraries (`npm run build`).
 */
const { arg, startLoopbackRanks } = require('./lib/loopback-ranks');
const RANKS = Number(arg('ranks', 2));
const STEPS = Number(arg('steps', 300));
const INNER = String(arg('inner', '10,50')).split(',').map(Number);
const PRESET = arg('preset', 'tiny');
const B = Number(arg('batch', 8));
const T = Number(arg('context', 64));

/** Trains one mode; returns the loss of every step, the validation loss and the bytes sent per rank. */
async function run(mode, train, validation) {
  const { ArrayTokenStream, DistributedBatchLoader } = require('@llm-forge/data-shards');
  const { meanLoss } = require('@llm-forge/gpt');
  const { OuterOptimizer, rowShare } = require('@llm-forge/training');
  const diloco = (trainer) =>
    mode.innerSteps === undefined
      ? {}
      : {
          outer: new OuterOptimizer(trainer.params, {
            innerSteps: mode.innerSteps,
            outerLr: 0.7,
            outerMomentum: 0.9,
            finalStep: STEPS,
          }),
        };
  const { replicas: ranks, close } = await startLoopbackRanks({
    ranks: RANKS,
    preset: PRESET,
    tokens: train,
    batch: B,
    context: T,
    steps: STEPS,
    loopOptions: diloco,
  });
  const losses = [];
  let bytes = 0;
  for (let s = 0; s < STEPS; s++) {
    const metrics = await Promise.all(ranks.map((r) => r.loop.step(rowShare(r.loader.next(), B))));
    losses.push(metrics[0].loss);
    bytes += metrics[0].bytesSent;
  }
  const valLoader = new DistributedBatchLoader(new ArrayTokenStream(validation), {
    contextLength: T,
    batchSize: B,
    shuffle: false,
    seed: 123,
  });
  const valBatches = Array.from({ length: Math.min(20, valLoader.stepsPerEpoch) }, (_, i) =>
    valLoader.globalBatchAt(0, i),
  );
  const valLoss = meanLoss(ranks[0].model, valBatches).loss;
  await close();
  return { losses, valLoss, bytes };
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { builtinCorpus } = require('@llm-forge/data-shards');
  const { createTokenizer } = require('@llm-forge/gpt');
  const backend = await initBackend();
  const tokens = Int32Array.from(createTokenizer().encode(builtinCorpus()));
  const cut = Math.floor(tokens.length * 0.9);
  const [train, validation] = [tokens.subarray(0, cut), tokens.subarray(cut)];
  console.log(
    `DiLoCo vs DDP: ${PRESET}, ${RANKS} ranks, global batch ${B} x ${T} tokens, ${STEPS} steps (${STEPS * B * T} tokens), backend ${backend.name}`,
  );
  const modes = [{ name: 'ddp' }, ...INNER.map((h) => ({ name: `diloco H=${h}`, innerSteps: h }))];
  const results = [];
  for (const mode of modes) results.push({ mode, ...(await run(mode, train, validation)) });
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const every = Math.max(1, Math.floor(STEPS / 10));
  console.log(['step  tokens'].concat(results.map((r) => r.mode.name.padStart(12))).join(' '));
  for (let s = every - 1; s < STEPS; s += every) {
    const window = (r) => mean(r.losses.slice(Math.max(0, s - every + 1), s + 1));
    console.log(
      [`${String(s + 1).padStart(4)}  ${String((s + 1) * B * T).padStart(6)}`]
        .concat(results.map((r) => window(r).toFixed(4).padStart(12)))
        .join(' '),
    );
  }
  const ddp = results[0].valLoss;
  for (const r of results) {
    console.log(
      `${r.mode.name.padEnd(12)} validation loss ${r.valLoss.toFixed(4)} (${(((r.valLoss - ddp) / ddp) * 100).toFixed(2)}% vs ddp), ${(r.bytes / 1e6).toFixed(1)} MB sent per rank`,
    );
  }
}

main().catch((error) => {
  console.error(`bench:diloco: ${error.stack ?? error}`);
  process.exit(1);
});
