/**
 * `forge finetune classify`: classification finetuning (the book's chapter 6) of a checkpoint or
 * a fresh preset on a CSV/TSV of `label,text` rows or the built-in SpamAssassin corpus; writes a
 * classifier checkpoint and reports accuracy, precision/recall/F1 and confusion per split.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import {
  createTokenizer,
  ForgeError,
  GPT2_VOCAB_SIZE,
  loadModel,
  PRESET_NAMES,
  presetConfig,
  GPTModel,
} from '@llm-forge/gpt';
import {
  balanceByDownsampling,
  encodeSplits,
  finetuneClassifier,
  GPTClassifier,
  limitExamples,
  parseTrainSelection,
  readLabeledFile,
  resolveLabels,
  SPAMASSASSIN,
  spamAssassinExamples,
  SPLIT_NAMES,
  stratifiedSplit,
  type ClassificationMetrics,
  type LabeledExample,
  type Pooling,
} from '@llm-forge/finetune';
import { FINETUNE_DEFAULTS as D } from '@llm-forge/cluster-protocol';
import { fraction, integer, positiveInt, positiveNumber, nonNegativeNumber } from '../options';
import { MODEL_HELP, resolveModelOption } from '../references';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { TrainProgress } from '../progress';

interface ClassifyFlags {
  data: string;
  model?: string;
  preset?: string;
  out: string;
  train: string;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  maxLength?: number;
  pooling: Pooling;
  labels?: string;
  balance: boolean;
  maxExamples?: number;
  valFraction: number;
  testFraction: number;
  loraRank: number;
  loraAlpha?: number;
  seed: number;
  overwrite?: boolean;
  json?: boolean;
}

/** Registers `forge finetune classify`. */
export function finetuneClassifyCommand(): Command {
  return new Command('classify')
    .description('finetune a GPT as a text classifier (e.g. spam) and save it for `forge classify`')
    .requiredOption('--data <file>', `CSV/TSV of label,text rows, or "${SPAMASSASSIN}" (the built-in corpus)`)
    .option('--model <model>', `base model (GPT-2 vocabulary): ${MODEL_HELP}`)
    .addOption(
      new Option('--preset <name>', 'start from random weights of this preset').choices(PRESET_NAMES),
    )
    .requiredOption('--out <dir>', 'directory for the classifier checkpoint')
    .option('--train <which>', 'parameters to train: last-block, last-N, all or lora', 'last-block')
    .option('--epochs <E>', 'passes over the training split', positiveInt, D.epochs.classification)
    .option('--batch-size <B>', 'examples per batch', positiveInt, D.batchSize)
    .option('--lr <x>', 'AdamW learning rate (constant)', positiveNumber, D.lr)
    .option('--weight-decay <w>', 'AdamW decoupled weight decay', nonNegativeNumber, D.weightDecay)
    .option(
      '--max-length <L>',
      'truncate/pad to L tokens (default: the longest training example)',
      positiveInt,
    )
    .addOption(
      new Option('--pooling <where>', 'token whose output classifies')
        .choices(['last', 'last-non-pad'])
        .default('last'),
    )
    .option('--labels <list>', 'comma-separated labels in class order; others are an error (default: sorted)')
    .option('--no-balance', 'keep the class sizes (default: downsample every class to the smallest)')
    .option('--max-examples <N>', 'use at most N examples (class shares kept; after balancing)', positiveInt)
    .option('--val-fraction <f>', 'validation share of each class', fraction, 0.1)
    .option('--test-fraction <f>', 'test share of each class', fraction, 0.2)
    .option('--lora-rank <R>', 'LoRA rank with --train lora', positiveInt, 16)
    .option('--lora-alpha <A>', 'LoRA alpha (scale alpha/rank; default: the rank)', positiveNumber)
    .option(
      '--seed <N>',
      'seed of balancing, split, shuffling, head and preset initialisation',
      integer,
      D.seed,
    )
    .option('--overwrite', 'replace an existing --out directory')
    .option('--json', 'print a JSON summary as the last line')
    .action(async (flags: ClassifyFlags) =>
      runFinetuneClassify({ ...flags, model: await resolveModelOption(flags.model) }),
    );
}

function loadExamples(flags: ClassifyFlags): { examples: LabeledExample[]; labels: string[] } {
  const all = flags.data === SPAMASSASSIN ? spamAssassinExamples() : readLabeledFile(flags.data);
  const labels = resolveLabels(
    all,
    flags.labels?.split(',').map((l) => l.trim()),
  );
  let examples = flags.balance ? balanceByDownsampling(all, labels, flags.seed) : all;
  if (flags.maxExamples !== undefined)
    examples = limitExamples(examples, labels, flags.maxExamples, flags.seed);
  return { examples, labels };
}

function baseWeights(flags: ClassifyFlags) {
  if (!flags.model === !flags.preset) {
    throw new ForgeError(
      'give exactly one of --model <dir> (a checkpoint) or --preset <name> (random weights)',
    );
  }
  if (flags.model) {
    const { config, params } = loadModel(flags.model);
    if (config.vocabSize !== GPT2_VOCAB_SIZE) {
      throw new ForgeError(
        `${path.join(flags.model, 'config.json')}: the checkpoint's vocabulary has ${config.vocabSize} tokens, not GPT-2's ${GPT2_VOCAB_SIZE}`,
        'texts are tokenized with GPT-2 BPE: use a GPT-2-vocabulary checkpoint or a --preset',
      );
    }
    return { config, params, source: flags.model };
  }
  const config = presetConfig(flags.preset as string);
  const model = GPTModel.random(config, flags.seed);
  const params = model.readParameters();
  model.dispose();
  return { config, params, source: `random ${flags.preset}` };
}

function metricsLine(name: string, m: ClassificationMetrics): string {
  if (m.examples === 0) return `${name}: no examples (raise --max-examples or the split fractions)`;
  const f1 = Object.entries(m.classes)
    .map(
      ([label, c]) => `${label} P ${c.precision.toFixed(3)} R ${c.recall.toFixed(3)} F1 ${c.f1.toFixed(3)}`,
    )
    .join('; ');
  return `${name}: accuracy ${(m.accuracy * 100).toFixed(2)}% (${m.examples} examples), loss ${m.loss.toFixed(4)}; ${f1}; confusion ${JSON.stringify(m.confusion)}`;
}

async function runFinetuneClassify(flags: ClassifyFlags): Promise<void> {
  if (fs.existsSync(flags.out) && !flags.overwrite) {
    throw new ForgeError(
      `${flags.out} already exists`,
      'pass --overwrite to replace it or choose another --out',
    );
  }
  const selection = parseTrainSelection(flags.train);
  const trainShare = 1 - flags.valFraction - flags.testFraction;
  if (!(trainShare > 0)) {
    throw new ForgeError(
      `--val-fraction ${flags.valFraction} and --test-fraction ${flags.testFraction} leave nothing to train on`,
    );
  }
  const backend = await startBackend();
  const { examples, labels } = loadExamples(flags);
  const base = baseWeights(flags);
  const split = stratifiedSplit(
    examples,
    labels,
    { train: trainShare, validation: flags.valFraction },
    flags.seed,
  );
  const { splits, maxLength } = encodeSplits(split, labels, createTokenizer(), {
    maxLength: flags.maxLength,
    contextLength: base.config.contextLength,
  });
  const spec = { labels, pooling: flags.pooling, maxLength, padTokenId: 50256 };
  const classifier = GPTClassifier.fromBase(base.config, base.params, spec, flags.seed);
  if (selection.kind === 'lora') {
    classifier.attachLora({
      rank: flags.loraRank,
      alpha: flags.loraAlpha ?? flags.loraRank,
      seed: flags.seed,
    });
  }
  info(
    flags.json,
    `backend ${backend.name}; base ${base.source}; labels ${labels.join(', ')}; ${splits.train.labels.length} train / ${splits.validation.labels.length} validation / ${splits.test.labels.length} test examples of ${maxLength} tokens; training ${flags.train}`,
  );

  const steps = Math.ceil(splits.train.labels.length / flags.batchSize) * flags.epochs;
  const progress = new TrainProgress(steps, 0, Boolean(flags.json));
  const started = performance.now();
  const result = finetuneClassifier(
    classifier,
    splits,
    {
      train: selection,
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      lr: flags.lr,
      weightDecay: flags.weightDecay,
      seed: flags.seed,
    },
    {
      onStep: (s) => {
        const seconds = (performance.now() - started) / 1000;
        progress.step(s.step, s.totalSteps, s.loss, (s.step * flags.batchSize * maxLength) / seconds);
      },
      onEpoch: (e) =>
        progress.log(
          `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, val loss ${e.valLoss.toFixed(4)}, val accuracy ${(e.valAccuracy * 100).toFixed(2)}%`,
        ),
    },
  );
  progress.stop();
  classifier.save(flags.out, { overwrite: flags.overwrite });
  classifier.dispose();

  info(
    flags.json,
    `trainable parameters ${result.trainableParameters.toLocaleString()} of ${result.totalParameters.toLocaleString()}`,
  );
  for (const name of SPLIT_NAMES) info(flags.json, metricsLine(name, result.metrics[name]));
  info(flags.json, `saved classifier to ${flags.out}`);
  if (flags.json) {
    printJson({
      train_accuracy: result.metrics.train.accuracy,
      val_accuracy: result.metrics.validation.accuracy,
      test_accuracy: result.metrics.test.accuracy,
      trainable_parameters: result.trainableParameters,
      total_parameters: result.totalParameters,
      labels,
      max_length: maxLength,
      examples: Object.fromEntries(SPLIT_NAMES.map((n) => [n, result.metrics[n].examples])),
      epoch_losses: result.epochLosses,
      steps: result.steps,
      metrics: result.metrics,
      checkpoint: flags.out,
      backend: backend.name,
    });
  }
}
