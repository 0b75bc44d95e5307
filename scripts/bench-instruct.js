#!/usr/bin/env node
/**
 * Instruction finetuning on the book's ch. 7 set (../shared/data/instruction-data.json): the book's
 * split (seeded), a training subset that fits a 2-core CPU in a few minutes, train and validation
 * loss before and after, and greedy responses to a few test entries next to the expected outputs.
 * Uses the built libraries (`npm run build` first).
 *
 *   npm run bench:instruct [-- --preset small | --model DIR] [--train 400] [--epochs 2]
 *       [--batch-size 8] [--lr 5e-4] [--max-length 256] [--style alpaca] [--mask-instruction]
 *       [--samples 5] [--data FILE] [--seed 123]
 */
const os = require('os');
const path = require('path');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function loadBaseModel(gpt) {
  const dir = arg('model');
  if (dir) {
    const { config, params } = gpt.loadModel(dir);
    return { model: gpt.GPTModel.fromParameters(config, params), source: dir };
  }
  const preset = arg('preset', 'small');
  return { model: gpt.GPTModel.random(gpt.presetConfig(preset), 123), source: `${preset} (random weights)` };
}

async function main() {
  const { initBackend } = require('@llm-forge/tfjs-backend-native');
  const gpt = require('@llm-forge/gpt');
  const ft = require('@llm-forge/finetune');
  const backend = await initBackend(process.env.FORGE_BACKEND || 'auto');
  const seed = Number(arg('seed', '123'));
  const dataFile = arg('data', path.resolve(__dirname, '../../shared/data/instruction-data.json'));
  const split = ft.splitInstructionData(ft.loadInstructionData(dataFile), { seed });
  const train = split.train.slice(0, Number(arg('train', '400')));
  const style = ft.promptStyle(arg('style', 'alpaca'));
  const { model, source } = loadBaseModel(gpt);
  const options = {
    style,
    epochs: Number(arg('epochs', '2')),
    batchSize: Number(arg('batch-size', '8')),
    lr: Number(arg('lr', '5e-4')),
    maxLength: Number(arg('max-length', String(model.config.contextLength))),
    maskPrompt: process.argv.includes('--mask-instruction'),
    evalEvery: Number(arg('eval-every', '10')),
    evalBatches: Number(arg('eval-batches', '5')),
    seed,
  };
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads; backend ${backend.name}; model ${source}, ${model.parameterCount.toLocaleString()} parameters`,
  );
  console.log(
    `data: ${train.length} of ${split.train.length} training examples, ${split.validation.length} validation, ${split.test.length} test; style ${style.name}; ${JSON.stringify({ ...options, style: style.name })}`,
  );
  const t0 = performance.now();
  const summary = await ft.finetuneInstructions(model, { train, validation: split.validation }, options, {
    onEval: (e) =>
      console.log(
        `step ${String(e.step).padStart(4)}: train loss ${e.trainLoss.toFixed(3)}, val loss ${e.valLoss.toFixed(3)}`,
      ),
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const samples = split.test.slice(0, Number(arg('samples', '5')));
  const responses = await ft.generateResponses(model, samples, {
    style,
    maxNewTokens: Number(arg('max-new-tokens', '64')),
  });
  const generateSeconds = (performance.now() - t1) / 1000;
  for (const r of responses) {
    console.log(
      `\n### ${r.instruction}${r.input ? ` [${r.input}]` : ''}\nexpected: ${r.output}\nmodel:    ${r.model_response}`,
    );
  }
  const result = {
    model: source,
    backend: backend.name,
    train_examples: train.length,
    steps: summary.steps,
    initial_train_loss: summary.initial.trainLoss,
    initial_val_loss: summary.initial.valLoss,
    train_loss: summary.final.trainLoss,
    val_loss: summary.final.valLoss,
    tokens_per_second: summary.tokensPerSecond,
    train_seconds: trainSeconds,
    generate_seconds: generateSeconds,
    responses: responses.map((r) => ({
      instruction: r.instruction,
      input: r.input,
      output: r.output,
      model_response: r.model_response,
    })),
  };
  console.log(
    `\nloss before: train ${result.initial_train_loss.toFixed(3)}, val ${result.initial_val_loss.toFixed(3)}; after ${summary.steps} steps: train ${result.train_loss.toFixed(3)}, val ${result.val_loss.toFixed(3)}; ${trainSeconds.toFixed(0)} s training (${Math.round(result.tokens_per_second)} tokens/s incl. padding), ${generateSeconds.toFixed(0)} s for ${responses.length} responses`,
  );
  console.log(`RESULTS ${JSON.stringify(result)}`);
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
