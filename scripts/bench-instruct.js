#!/usr/bin/env node
/**
 * Instruction finetuning on the book's ch. 7 set (../shared/data/instruction-data.json) by the
 * finetune job engine at world size 1 (as `forge finetune instruct` runs it): the first
 * `--examples` entries (a subset that fits a 2-core CPU in a few minutes) split the book's way
 * (seeded 85/10/5), train and validation loss before, during and after, and greedy responses to a
 * few test entries next to the expected outputs. Uses the built libraries (`npm run build` first).
 *
 *   npm run bench:instruct [-- --preset small | --model DIR] [--examples 470] [--epochs 2]
 *       [--batch-size 8] [--lr 5e-4] [--max-length 256] [--style alpaca] [--mask-instruction]
 *       [--eval-every 10] [--eval-batches 5] [--samples 5] [--max-new-tokens 64] [--data FILE] [--seed 123]
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The spec of the flags: what `forge finetune instruct` would build. */
function specOf(dataFile, seed) {
  const { finetuneSpecSchema } = require('@llm-forge/cluster-protocol');
  const maxLength = arg('max-length');
  return finetuneSpecSchema.parse({
    kind: 'instruction',
    ...(arg('model') ? { baseCheckpoint: arg('model') } : { preset: arg('preset', 'small') }),
    dataset: dataFile,
    hyperparameters: {
      epochs: Number(arg('epochs', '2')),
      batchSize: Number(arg('batch-size', '8')),
      lr: Number(arg('lr', '5e-4')),
      ...(maxLength ? { maxLength: Number(maxLength) } : {}),
    },
    style: arg('style', 'alpaca'),
    maskInstruction: process.argv.includes('--mask-instruction'),
    // 470 entries: 399 train, 47 test, 24 validation.
    maxExamples: Number(arg('examples', '470')),
    maxResponses: Number(arg('samples', '5')),
    maxNewTokens: Number(arg('max-new-tokens', '64')),
    evalEvery: Number(arg('eval-every', '10')),
    evalBatches: Number(arg('eval-batches', '5')),
    seed,
  });
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const ft = require('@llm-forge/finetune');
  const { SINGLE_PROCESS } = require('@llm-forge/training');
  const backend = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const seed = Number(arg('seed', '123'));
  const dataFile = arg('data', path.resolve(__dirname, '../../shared/data/instruction-data.json'));
  const spec = specOf(dataFile, seed);
  const source = spec.baseCheckpoint ?? `${spec.preset} (random weights)`;
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; backend ${backend.name}; model ${source}`,
  );
  console.log(`spec: ${JSON.stringify({ ...spec, dataset: path.basename(spec.dataset) })}`);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-instruct-'));
  const t0 = performance.now();
  let seen = 0;
  let trainSeconds = 0;
  const outcome = await ft
    .runFinetuneJob(spec, {
      collective: SINGLE_PROCESS,
      outDir,
      resumable: false,
      onProgress: ({ history }) => {
        for (const p of history.slice(seen).filter((h) => h.valLoss !== undefined)) {
          console.log(
            `step ${String(p.step).padStart(4)}: train loss ${p.trainEvalLoss.toFixed(3)}, val loss ${p.valLoss.toFixed(3)}`,
          );
        }
        seen = history.length;
        trainSeconds = (performance.now() - t0) / 1000;
      },
      log: (message, fields) => {
        if (message.startsWith('response')) return;
        console.log(`${message} ${JSON.stringify(fields ?? {})}`);
      },
    })
    .finally(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const totalSeconds = (performance.now() - t0) / 1000;
  const e = outcome.evaluation;
  for (const r of e.responses) {
    console.log(
      `\n### ${r.instruction}${r.input ? ` [${r.input}]` : ''}\nexpected: ${r.output}\nmodel:    ${r.response}`,
    );
  }
  const rates = outcome.history.map((p) => p.tokensPerSecond).filter((r) => r !== undefined);
  const result = {
    model: source,
    backend: backend.name,
    steps: outcome.steps,
    trainable_parameters: outcome.trainableParameters,
    initial_train_loss: e.initialTrainLoss,
    initial_val_loss: e.initialValLoss,
    train_loss: e.trainLoss,
    val_loss: e.valLoss,
    tokens_per_second: rates.reduce((a, b) => a + b, 0) / Math.max(rates.length, 1),
    train_seconds: trainSeconds,
    finish_seconds: totalSeconds - trainSeconds,
    responses: e.responses,
  };
  console.log(
    `\nloss before: train ${result.initial_train_loss.toFixed(3)}, val ${result.initial_val_loss.toFixed(3)}; after ${result.steps} steps: train ${result.train_loss.toFixed(3)}, val ${result.val_loss.toFixed(3)}; ${trainSeconds.toFixed(0)} s training (${Math.round(result.tokens_per_second)} tokens/s incl. padding), ${result.finish_seconds.toFixed(0)} s for the final losses, saving and ${e.responses.length} responses`,
  );
  console.log(`RESULTS ${JSON.stringify(result)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
