#!/usr/bin/env node
/**
 * DiLoCo's quality against DDP on the same data and tokens (issue 13): N ranks on loopback (one
 * process), the same model, seeds and global batches; DDP sums the gradients every step, DiLoCo
 * takes H inner steps per rank on its own slice and then an outer Nesterov step (outer lr 0.7,
 * momentum 0.9 by default: the paper's). Prints the training loss every few steps, the validation
 * loss every `--eval-every` steps and at the end, and the bytes each rank sent.
 *
 *   npm run bench:diloco [-- --ranks 2 --steps 300 --inner 10,50 --preset tiny --batch 8 --context 64]
 *     [--outer-lr 0.7 --outer-momentum 0.9 --lr 1e-3 --min-lr 1e-4 --warmup 10 --eval-every 100]
 *     [--no-ddp] [--baseline earlier.json] [--tag 'lr 1.0'] [--svg docs/diloco-quality.svg] [--json out.json]
 *
 * Data: the built-in corpus (its first 90% to train, in order, the rest for validation; the same
 * 20 validation batches for every evaluation). DiLoCo is evaluated on its outer model, so
 * `--eval-every` should be a multiple of every H. --baseline adds the runs of an earlier --json
 * (e.g. its ddp, with --no-ddp here) to the tables and the picture; its settings must match.
 * Needs the built libraries (`npm run build`).
 */
const fs = require('fs');
const { arg, startLoopbackRanks } = require('./lib/loopback-ranks');
const { chartGrid } = require('./lib/svg-chart');
const RANKS = Number(arg('ranks', 2));
const STEPS = Number(arg('steps', 300));
const INNER = String(arg('inner', '10,50')).split(',').filter(Boolean).map(Number);
const PRESET = arg('preset', 'tiny');
const B = Number(arg('batch', 8));
const T = Number(arg('context', 64));
const OUTER_LR = Number(arg('outer-lr', 0.7));
const OUTER_MOMENTUM = Number(arg('outer-momentum', 0.9));
const SCHEDULE = {
  lr: Number(arg('lr', 1e-3)),
  minLr: Number(arg('min-lr', 1e-4)),
  warmupSteps: Number(arg('warmup', 10)),
};
const EVAL_EVERY = Number(arg('eval-every', 100));
const WITH_DDP = !process.argv.includes('--no-ddp');
const BASELINE = arg('baseline', undefined);
const TAG = arg('tag', ''); // appended to the DiLoCo modes' names (a sweep's settings)
const SVG = arg('svg', undefined);
const JSON_OUT = arg('json', undefined);

/** Trains one mode; returns the loss of every step, validation losses, and the bytes sent per rank. */
async function run(mode, train, valBatches) {
  const { meanLoss } = require('@llm-forge/gpt');
  const { OuterOptimizer, rowShare } = require('@llm-forge/training');
  const diloco = (trainer) =>
    mode.innerSteps === undefined
      ? {}
      : {
          outer: new OuterOptimizer(trainer.params, {
            innerSteps: mode.innerSteps,
            outerLr: OUTER_LR,
            outerMomentum: OUTER_MOMENTUM,
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
    schedule: SCHEDULE,
    loopOptions: diloco,
  });
  const validate = () => meanLoss(ranks[0].model, valBatches).loss; // DiLoCo: the outer model here
  const losses = [];
  const validation = [[0, validate()]];
  let bytes = 0;
  const started = Date.now();
  for (let s = 0; s < STEPS; s++) {
    const metrics = await Promise.all(ranks.map((r) => r.loop.step(rowShare(r.loader.next(), B))));
    losses.push(metrics[0].loss);
    bytes += metrics[0].bytesSent;
    if ((s + 1) % EVAL_EVERY === 0 || s + 1 === STEPS) {
      validation.push([s + 1, validate()]);
      const at = validation[validation.length - 1][1].toFixed(4);
      console.log(
        `  ${mode.name} step ${s + 1}: validation ${at} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  }
  await close();
  return { losses, validation, valLoss: validation[validation.length - 1][1], bytes };
}

/** Loss against tokens: windowed training loss and validation loss, one line per mode. */
function picture(results, every) {
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const trainSeries = results
    .filter((r) => r.losses.length)
    .map((r) => ({
      name: r.mode.name,
      points: Array.from({ length: Math.floor(STEPS / every) }, (_, i) => [
        ((i + 1) * every * B * T) / 1e3,
        mean(r.losses.slice(i * every, (i + 1) * every)),
      ]),
    }));
  const valSeries = results.map((r) => ({
    name: r.mode.name,
    marker: 'circle',
    points: r.validation.filter(([s]) => s > 0).map(([s, l]) => [(s * B * T) / 1e3, l]),
  }));
  const lows = results.flatMap((r) => r.validation.map(([, l]) => l));
  const yMin = Math.floor(Math.min(...lows) * 2) / 2 - 0.5;
  const yMax = yMin + 4;
  const caption =
    `${PRESET}, ${RANKS} ranks, global batch ${B} x ${T}, ${STEPS} steps; DiLoCo outer lr η ${OUTER_LR}, momentum μ ${OUTER_MOMENTUM} ` +
    `where its name says no other; ` +
    `inner lr ${SCHEDULE.lr} -> ${SCHEDULE.minLr} cosine, ${SCHEDULE.warmupSteps} warmup`;
  return chartGrid(
    [
      {
        series: trainSeries,
        options: {
          title: `training loss (mean of ${every}-step windows)`,
          xLabel: 'tokens (thousands)',
          yLabel: 'loss',
          yMin,
          yMax,
        },
      },
      {
        series: valSeries,
        options: {
          title: 'validation loss (outer model for DiLoCo)',
          xLabel: 'tokens (thousands)',
          yLabel: 'loss',
          yMin,
          yMax,
        },
      },
    ],
    { columns: 2, width: 520, height: 340, caption },
  );
}

/** The runs of an earlier --json, as results of this one (its settings checked against these). */
function baselineRuns(file) {
  const { settings, runs } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const mine = { preset: PRESET, ranks: RANKS, steps: STEPS, batch: B, context: T };
  for (const [key, value] of Object.entries(mine)) {
    if (settings[key] !== value)
      throw new Error(`--baseline ${file}: ${key} is ${settings[key]}, here ${value}`);
  }
  return runs.map((r) => ({
    mode: { name: r.mode, innerSteps: r.innerSteps ?? undefined },
    losses: r.losses,
    validation: r.validation,
    valLoss: r.validation[r.validation.length - 1][1],
    bytes: r.bytesPerRank,
  }));
}

/** The settings and every mode's losses as --json writes them. */
function writeJson(results) {
  const settings = {
    preset: PRESET,
    ranks: RANKS,
    steps: STEPS,
    batch: B,
    context: T,
    outerLr: OUTER_LR,
    outerMomentum: OUTER_MOMENTUM,
    schedule: SCHEDULE,
  };
  const runs = results.map((r) => ({
    mode: r.mode.name,
    innerSteps: r.mode.innerSteps ?? null,
    validation: r.validation,
    losses: r.losses,
    bytesPerRank: r.bytes,
  }));
  const date = new Date().toISOString();
  const command = process.argv.slice(2).join(' ');
  fs.writeFileSync(JSON_OUT, JSON.stringify({ date, command, settings, runs }) + '\n');
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const { ArrayTokenStream, DistributedBatchLoader, builtinCorpus } = require('@llm-forge/data-shards');
  const { createTokenizer } = require('@llm-forge/gpt');
  const backend = await initBackend();
  const tokens = Int32Array.from(createTokenizer().encode(builtinCorpus()));
  const cut = Math.floor(tokens.length * 0.9);
  const [train, validation] = [tokens.subarray(0, cut), tokens.subarray(cut)];
  const valLoader = new DistributedBatchLoader(new ArrayTokenStream(validation), {
    contextLength: T,
    batchSize: B,
    shuffle: false,
    seed: 123,
  });
  const valBatches = Array.from({ length: Math.min(20, valLoader.stepsPerEpoch) }, (_, i) =>
    valLoader.globalBatchAt(0, i),
  );
  console.log(
    `DiLoCo vs DDP: ${PRESET}, ${RANKS} ranks, global batch ${B} x ${T} tokens, ${STEPS} steps (${STEPS * B * T} tokens, ` +
      `${((STEPS * B * T) / train.length).toFixed(2)} epochs of ${train.length}), backend ${backend.name}; ` +
      `outer lr ${OUTER_LR}, momentum ${OUTER_MOMENTUM}; inner ${JSON.stringify(SCHEDULE)}`,
  );
  const modes = [
    ...(WITH_DDP ? [{ name: 'ddp' }] : []),
    ...INNER.map((h) => ({ name: `diloco H=${h}${TAG ? ` ${TAG}` : ''}`, innerSteps: h })),
  ];
  const results = BASELINE ? baselineRuns(BASELINE) : [];
  for (const mode of modes) {
    results.push({ mode, ...(await run(mode, train, valBatches)) });
    if (JSON_OUT) writeJson(results); // after every mode, so a stopped run keeps what it finished
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const every = Math.max(1, Math.floor(STEPS / 10));
  console.log(['step  tokens'].concat(results.map((r) => r.mode.name.padStart(12))).join(' '));
  for (let s = every - 1; s < STEPS; s += every) {
    const window = (r) => mean(r.losses.slice(Math.max(0, s - every + 1), s + 1));
    console.log(
      [`${String(s + 1).padStart(4)}  ${String((s + 1) * B * T).padStart(6)}`]
        .concat(results.map((r) => (r.losses.length ? window(r).toFixed(4) : '—').padStart(12)))
        .join(' '),
    );
  }
  console.log('validation loss');
  for (let i = 0; i < results[0].validation.length; i++) {
    const [s] = results[0].validation[i];
    console.log(
      [`${String(s).padStart(4)}  ${String(s * B * T).padStart(6)}`]
        .concat(
          results.map((r) => (r.validation.find(([step]) => step === s)?.[1] ?? NaN).toFixed(4).padStart(12)),
        )
        .join(' '),
    );
  }
  const ddp = results.find((r) => r.mode.name === 'ddp')?.valLoss;
  for (const r of results) {
    const vs = ddp === undefined ? '' : ` (${(((r.valLoss - ddp) / ddp) * 100).toFixed(2)}% vs ddp)`;
    console.log(
      `${r.mode.name.padEnd(12)} validation loss ${r.valLoss.toFixed(4)}${vs}, ${(r.bytes / 1e6).toFixed(1)} MB sent per rank`,
    );
  }
  if (SVG) fs.writeFileSync(SVG, picture(results, every));
}

main().catch((error) => {
  console.error(`bench:diloco: ${error.stack ?? error}`);
  process.exit(1);
});
