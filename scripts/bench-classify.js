#!/usr/bin/env node
/**
 * Spam classification on the SpamAssassin corpus (chapter 6 of the book): the same finetune job
 * (the job engine at world size 1, as `forge finetune classify` runs it) from a model pretrained
 * in this project and from random weights of the same shape, accuracy per split side by side.
 * Pretrains nothing: pass the checkpoint of `npx forge train` (the quick start's main job).
 * Balanced, seeded stratified 70/10/20 split; a subset of the emails and a few epochs so it fits a
 * 2-core CPU. Uses the built libraries (`npm run build`).
 *
 *   npm run bench:classify -- --model runs/<train-run> [--examples 1000] [--epochs 3]
 *       [--batch-size 8] [--lr 5e-4] [--max-length 64] [--train last-block,all] [--seed 123]
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function pct(x) {
  return x === null || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)}%`;
}

/** Finetunes by the job engine at world size 1 (what `forge finetune classify` runs); metrics per split. */
async function finetune(ft, spec, describe) {
  const { SINGLE_PROCESS } = require('@llm-forge/training');
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-classify-'));
  const task = ft.ClassificationTask.create(spec);
  try {
    describe(task.data);
    const ctx = { collective: SINGLE_PROCESS, outDir, resumable: false };
    const job = await ft.trainFinetuneJob(spec, ctx, task);
    const { metrics } = await task.finish({ outDir });
    return { metrics, trainable: job.trainer.params.length };
  } finally {
    task.dispose();
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const gpt = require('@llm-forge/gpt');
  const ft = require('@llm-forge/finetune');
  const { finetuneSpecSchema } = require('@llm-forge/cluster-protocol');
  const modelDir = arg('model');
  if (!modelDir) throw new Error('pass --model <dir>: a checkpoint of `npx forge train`');
  const backend = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const seed = Number(arg('seed', '123'));
  const hyperparameters = {
    epochs: Number(arg('epochs', '3')),
    batchSize: Number(arg('batch-size', '8')),
    lr: Number(arg('lr', '5e-4')),
    maxLength: Number(arg('max-length', '64')),
  };
  const pretrained = gpt.loadModel(modelDir);
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; backend ${backend.name}; base ${modelDir} (${pretrained.params.length.toLocaleString()} parameters)`,
  );
  // Random weights of the same shape, as a checkpoint the job loads like the pretrained one.
  const randomDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-classify-random-'));
  const random = gpt.GPTModel.random(pretrained.config, seed);
  gpt.saveModel(randomDir, pretrained.config, random.readParameters(), { overwrite: true });
  random.dispose();
  let described = false;
  const describe = ({ splits, maxLength }) => {
    if (described) return;
    described = true;
    console.log(
      `data: SpamAssassin balanced and limited to ${arg('examples', '1000')} emails; ${splits.train.labels.length}/${splits.validation.labels.length}/${splits.test.labels.length} train/val/test, ${maxLength} tokens; ${JSON.stringify({ ...hyperparameters, seed })}`,
    );
  };
  const rows = [];
  try {
    for (const train of arg('train', 'last-block,all').split(',')) {
      for (const [init, base] of [
        ['pretrained', modelDir],
        ['random', randomDir],
      ]) {
        const spec = finetuneSpecSchema.parse({
          kind: 'classification',
          baseCheckpoint: base,
          dataset: ft.SPAMASSASSIN,
          hyperparameters,
          train,
          ...(train === 'lora' ? { lora: { rank: 8, alpha: 8 } } : {}),
          maxExamples: Number(arg('examples', '1000')),
          seed,
        });
        const t0 = performance.now();
        const { metrics: m, trainable } = await finetune(ft, spec, describe);
        const seconds = (performance.now() - t0) / 1000;
        rows.push({ init, train, m, seconds, trainable });
        console.log(
          `${init} / ${train}: train ${pct(m.train.accuracy)}, val ${pct(m.validation.accuracy)}, test ${pct(m.test.accuracy)} (spam F1 ${m.test.classes.spam.f1.toFixed(3)}), ${trainable.toLocaleString()} trainable, ${seconds.toFixed(0)} s`,
        );
      }
    }
  } finally {
    fs.rmSync(randomDir, { recursive: true, force: true });
  }
  console.log(
    '\n| init | --train | trainable params | train acc | val acc | test acc | test spam F1 | time |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.init} | ${r.train} | ${r.trainable.toLocaleString()} | ${pct(r.m.train.accuracy)} | ${pct(r.m.validation.accuracy)} | ${pct(r.m.test.accuracy)} | ${r.m.test.classes.spam.f1.toFixed(3)} | ${r.seconds.toFixed(0)} s |`,
    );
  }
}

main().catch((e) => {
  console.error(`bench-classify: ${e.message}`);
  process.exit(1);
});
