/**
 * `forge finetune classify`: classification finetuning (the book's chapter 6) of a checkpoint or
 * a fresh preset on a CSV/TSV of `label,text` rows or the built-in SpamAssassin corpus; writes a
 * classifier checkpoint and reports accuracy, precision/recall/F1 and confusion per split.
 */
import { Command, Option } from 'commander';
import { PRESET_NAMES } from '@llm-forge/gpt';
import {
  ClassificationTask,
  SPAMASSASSIN,
  SPLIT_NAMES,
  type ClassificationMetrics,
} from '@llm-forge/finetune';
import {
  FINETUNE_DEFAULTS as D,
  FINETUNE_OPTION_DEFAULTS as O,
  type FinetuneMetric,
  type FinetuneSpec,
} from '@llm-forge/cluster-protocol';
import { integer, positiveInt, positiveNumber, nonNegativeNumber } from '../options';
import { MODEL_HELP, resolveModelOption } from '../references';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import {
  addClassificationDataOptions,
  baseOf,
  checkBaseAndOut,
  classificationDataFields,
  addMaxStepsOption,
  finetuneAlone,
  hyperparametersOf,
  parseSpec,
  type ClassificationDataFlags,
} from './finetune-run';

interface ClassifyFlags extends ClassificationDataFlags {
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
  balance: boolean;
  maxExamples?: number;
  loraRank: number;
  loraAlpha?: number;
  seed: number;
  maxSteps?: number;
  overwrite?: boolean;
  json?: boolean;
}

/** Registers `forge finetune classify`. */
export function finetuneClassifyCommand(): Command {
  const command = new Command('classify')
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
    );
  return addMaxStepsOption(addClassificationDataOptions(command))
    .option('--no-balance', 'keep the class sizes (default: downsample every class to the smallest)')
    .option('--max-examples <N>', 'use at most N examples (class shares kept; after balancing)', positiveInt)
    .option('--lora-rank <R>', 'LoRA rank with --train lora', positiveInt, O.loraRank)
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

/** The job spec of the flags: what `forge submit finetune classify` would send. */
function classifySpecOf(flags: ClassifyFlags): FinetuneSpec {
  const lora = flags.train === 'lora';
  return parseSpec({
    kind: 'classification',
    ...baseOf(flags),
    dataset: flags.data,
    hyperparameters: hyperparametersOf(flags),
    train: flags.train,
    ...(lora ? { lora: { rank: flags.loraRank, alpha: flags.loraAlpha } } : {}),
    ...classificationDataFields(flags),
    balance: flags.balance,
    maxExamples: flags.maxExamples,
    seed: flags.seed,
    maxSteps: flags.maxSteps,
  });
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

/** An epoch's line: its train loss (`trainEvalLoss`, the one definition), validation loss and accuracy. */
function epochLine(p: FinetuneMetric): string {
  const acc = p.valAccuracy === undefined ? '' : `, val accuracy ${(p.valAccuracy * 100).toFixed(2)}%`;
  return `epoch ${p.epoch}: train loss ${p.trainEvalLoss?.toFixed(4)}, val loss ${p.valLoss?.toFixed(4) ?? '-'}${acc}`;
}

async function runFinetuneClassify(flags: ClassifyFlags): Promise<void> {
  checkBaseAndOut(flags);
  const spec = classifySpecOf(flags);
  const backend = await startBackend();
  const task = ClassificationTask.create(spec);
  const { labels, splits, maxLength } = task.data;
  info(
    flags.json,
    `backend ${backend.name}; base ${flags.model ?? `random ${flags.preset}`}; labels ${labels.join(', ')}; ${splits.train.labels.length} train / ${splits.validation.labels.length} validation / ${splits.test.labels.length} test examples of ${maxLength} tokens; training ${spec.train}`,
  );
  const job = await finetuneAlone(spec, task, {
    out: flags.out,
    json: flags.json,
    evalLine: epochLine,
  });
  const finished = await task
    .finish({ outDir: flags.out, modelDir: flags.out })
    .finally(() => task.dispose());
  const { metrics } = finished;
  const trainable = job.trainer.params.length;
  info(
    flags.json,
    `trainable parameters ${trainable.toLocaleString()} of ${task.totalParameters.toLocaleString()}`,
  );
  for (const name of SPLIT_NAMES) info(flags.json, metricsLine(name, metrics[name]));
  info(flags.json, `saved classifier to ${flags.out}`);
  if (!flags.json) return;
  // An epoch ends at a multiple of the steps per epoch; evalEvery is not set, so every evaluation is one.
  const epochEnds = job.history.evaluations().filter((p) => p.step % task.stepsPerEpoch === 0);
  printJson({
    train_accuracy: metrics.train.accuracy,
    val_accuracy: metrics.validation.accuracy,
    test_accuracy: metrics.test.accuracy,
    trainable_parameters: trainable,
    total_parameters: task.totalParameters,
    labels,
    max_length: maxLength,
    examples: Object.fromEntries(SPLIT_NAMES.map((n) => [n, metrics[n].examples])),
    epoch_losses: epochEnds.map((p) => p.trainEvalLoss),
    steps: job.trainer.stepsDone,
    metrics,
    checkpoint: flags.out,
    backend: backend.name,
  });
}
