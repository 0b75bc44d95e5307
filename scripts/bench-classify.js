#!/usr/bin/env node
/**
 * Spam classification on the SpamAssassin corpus (chapter 6 of the book): the same finetuning
 * procedure from a model pretrained in this project and from random weights of the same shape,
 * accuracy per split side by side. Pretrains nothing: pass the checkpoint of `npx forge train`
 * (the quick start's main job). Balanced, seeded stratified 70/10/20 split; a subset of the
 * emails and a few epochs so it fits a 2-core CPU. Uses the built libraries (`npm run build`).
 *
 *   npm run bench:classify -- --model runs/<train-run> [--examples 1000] [--epochs 3]
 *       [--batch-size 8] [--lr 5e-4] [--max-length 64] [--train last-block,all] [--seed 123]
 */
const os = require('os');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function pct(x) {
  return x === null || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)}%`;
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const gpt = require('@llm-forge/gpt');
  const ft = require('@llm-forge/finetune');
  const modelDir = arg('model');
  if (!modelDir) throw new Error('pass --model <dir>: a checkpoint of `npx forge train`');
  const backend = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const seed = Number(arg('seed', '123'));
  const options = {
    epochs: Number(arg('epochs', '3')),
    batchSize: Number(arg('batch-size', '8')),
    lr: Number(arg('lr', '5e-4')),
    seed,
  };
  const pretrained = gpt.loadModel(modelDir);
  const all = ft.spamAssassinExamples();
  const labels = ft.resolveLabels(all);
  const examples = ft.limitExamples(
    ft.balanceByDownsampling(all, labels, seed),
    labels,
    Number(arg('examples', '1000')),
    seed,
  );
  const split = ft.stratifiedSplit(examples, labels, { train: 0.7, validation: 0.1 }, seed);
  const { splits, maxLength } = ft.encodeSplits(split, labels, gpt.createTokenizer(), {
    maxLength: Number(arg('max-length', '64')),
    contextLength: pretrained.config.contextLength,
  });
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; backend ${backend.name}; base ${modelDir} (${pretrained.params.length.toLocaleString()} parameters)`,
  );
  console.log(
    `data: SpamAssassin, ${all.length} emails, balanced and limited to ${examples.length}; ${splits.train.labels.length}/${splits.validation.labels.length}/${splits.test.labels.length} train/val/test, ${maxLength} tokens; ${JSON.stringify(options)}`,
  );
  const random = gpt.GPTModel.random(pretrained.config, seed);
  const randomParams = random.readParameters();
  random.dispose();
  const rows = [];
  for (const train of arg('train', 'last-block,all').split(',')) {
    for (const [init, params] of [
      ['pretrained', pretrained.params],
      ['random', randomParams],
    ]) {
      const spec = { labels, pooling: 'last', maxLength, padTokenId: 50256 };
      const classifier = ft.GPTClassifier.fromBase(pretrained.config, params, spec, seed);
      if (train === 'lora') classifier.attachLora({ rank: 8, alpha: 8, seed });
      const t0 = performance.now();
      const result = ft.finetuneClassifier(classifier, splits, {
        ...options,
        train: ft.parseTrainSelection(train),
      });
      const seconds = (performance.now() - t0) / 1000;
      classifier.dispose();
      const m = result.metrics;
      rows.push({ init, train, m, seconds, trainable: result.trainableParameters });
      console.log(
        `${init} / ${train}: train ${pct(m.train.accuracy)}, val ${pct(m.validation.accuracy)}, test ${pct(m.test.accuracy)} (spam F1 ${m.test.classes.spam.f1.toFixed(3)}), ${result.trainableParameters.toLocaleString()} trainable, ${seconds.toFixed(0)} s`,
      );
    }
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
