/**
 * `forge submit finetune classify|instruct`: submits a finetune job to the running coordinator (the
 * flags of `forge finetune classify|instruct`, run on the worker pool), and optionally follows it to
 * the end with the same `--json` summary as the single-machine commands.
 */
import * as path from 'path';
import { Command, Option } from 'commander';
import {
  FINETUNE_DEFAULTS as D,
  FINETUNE_OPTION_DEFAULTS as O,
  SPAMASSASSIN_DATASET as SPAMASSASSIN,
} from '@llm-forge/cluster-protocol';
import { ForgeError, PRESET_NAMES } from '@llm-forge/gpt';
import type { ApiFinetune, CoordinatorApi } from '../cluster/api-client';
import { followJob } from '../cluster/follow-job';
import { integer, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../options';
import { info, printJson } from '../output';
import { TrainProgress } from '../progress';
import { coordinatorModelRef, MODEL_HELP } from '../references';
import {
  addClassificationDataOptions,
  addInstructionEvalOptions,
  addMaxStepsOption,
  checkOneBase,
  classificationDataFields,
  hyperparametersOf,
  instructionEvalFields,
  type ClassificationDataFlags,
  type InstructionEvalFlags,
} from './finetune-run';

interface FinetuneSubmitFlags extends ClassificationDataFlags, InstructionEvalFlags {
  data: string;
  maxSteps?: number;
  model?: string;
  preset?: string;
  epochs?: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  maxLength?: number;
  loraRank?: number;
  loraAlpha?: number;
  seed: number;
  workers: number;
  checkpointEvery: number;
  name?: string;
  wait?: boolean;
  json?: boolean;
  // classify
  train?: string;
  balance?: boolean;
  maxExamples?: number;
  // instruct
  style?: string;
  maskInstruction?: boolean;
  maxResponses?: number;
  judgeUrl?: string;
  judgeModel?: string;
}

/** Registers `forge submit finetune classify|instruct` on `submit`; `connect` finds the coordinator. */
export function addSubmitFinetune(
  submit: Command,
  connect: () => { api: CoordinatorApi; dashboardUrl?: string },
): void {
  const finetune = new Command('finetune').description('submit a finetune job to the worker pool');
  const classify = addMaxStepsOption(
    commonOptions(
      addClassificationDataOptions(new Command('classify'))
        .description('classification finetuning (forge finetune classify on the cluster)')
        .requiredOption(
          '--data <file>',
          `CSV/TSV of label,text rows every worker can read, or "${SPAMASSASSIN}"`,
        )
        .option('--train <which>', 'parameters to train: last-block, last-N, all or lora', 'last-block')
        .option('--no-balance', 'keep the class sizes (default: downsample every class to the smallest)')
        .option('--max-examples <N>', 'use at most N examples (class shares kept)', positiveInt),
    ),
  ).action((flags: FinetuneSubmitFlags) => submitFinetune('classification', flags, connect));
  const instruct = addMaxStepsOption(
    commonOptions(
      addInstructionEvalOptions(new Command('instruct'), O.evalEvery)
        .description('instruction finetuning (forge finetune instruct on the cluster)')
        .requiredOption('--data <file>', 'Alpaca-format JSON or JSONL every worker can read')
        .addOption(new Option('--style <name>', 'prompt style').choices(['alpaca', 'phi3']).default('alpaca'))
        .option('--mask-instruction', 'train on the response tokens only')
        .option(
          '--max-responses <N>',
          'test-split responses to generate (and judge) at the end',
          nonNegativeInt,
          D.maxResponses,
        )
        .option('--judge-url <url>', 'score the responses with an OpenAI-compatible chat endpoint')
        .option('--judge-model <name>', 'judge model name'),
    ),
  ).action((flags: FinetuneSubmitFlags) => submitFinetune('instruction', flags, connect));
  finetune.addCommand(classify.exitOverride());
  finetune.addCommand(instruct.exitOverride());
  submit.addCommand(finetune.exitOverride());
}

function commonOptions(command: Command): Command {
  return command
    .option(
      '--model <model>',
      `base model every worker can read: ${MODEL_HELP}; or <runId>/<checkpoint> of a run the coordinator knows`,
    )
    .addOption(
      new Option('--preset <name>', 'start from random weights of this preset').choices(PRESET_NAMES),
    )
    .option(
      '--epochs <E>',
      `passes over the training split (default: ${D.epochs.classification} classify, ${D.epochs.instruction} instruct)`,
      positiveInt,
    )
    .option('--batch-size <B>', 'global batch: examples per step over all workers', positiveInt, D.batchSize)
    .option('--lr <x>', 'AdamW learning rate (constant)', positiveNumber, D.lr)
    .option('--weight-decay <w>', 'AdamW decoupled weight decay', nonNegativeNumber, D.weightDecay)
    .option('--max-length <L>', 'truncate examples to L tokens', positiveInt)
    .option('--lora-rank <R>', 'train LoRA adapters of this rank', positiveInt)
    .option('--lora-alpha <A>', 'LoRA alpha (scale alpha/rank; default: the rank)', positiveNumber)
    .option('--seed <N>', 'seed of the split, shuffling and initialisation', integer, D.seed)
    .option('--workers <N>', 'workers that train it data-parallel', positiveInt, D.workers)
    .option(
      '--checkpoint-every <K>',
      'save resumable state every K steps (and after each epoch)',
      nonNegativeInt,
      D.checkpointEvery,
    )
    .option('--name <name>', 'a name for the job')
    .option('--wait', 'follow the job until it ends')
    .option('--json', 'print a JSON summary as the last line');
}

/** The job spec of the flags (the coordinator validates it and names bad fields). */
export function finetuneSpecOf(kind: 'classification' | 'instruction', flags: FinetuneSubmitFlags): object {
  checkOneBase(flags);
  return {
    kind,
    ...(flags.name ? { name: flags.name } : {}),
    ...(flags.model ? { baseCheckpoint: coordinatorModelRef(flags.model) } : { preset: flags.preset }),
    dataset: flags.data === SPAMASSASSIN ? flags.data : path.resolve(flags.data),
    hyperparameters: hyperparametersOf(flags),
    ...(flags.loraRank !== undefined ? { lora: { rank: flags.loraRank, alpha: flags.loraAlpha } } : {}),
    ...(kind === 'classification'
      ? {
          train: flags.loraRank !== undefined && flags.train === 'last-block' ? 'lora' : flags.train,
          balance: flags.balance,
          maxExamples: flags.maxExamples,
          ...classificationDataFields(flags),
        }
      : {
          ...instructionEvalFields(flags),
          style: flags.style,
          maskInstruction: Boolean(flags.maskInstruction),
          maxResponses: flags.maxResponses,
          ...(flags.judgeUrl || flags.judgeModel
            ? { judge: { url: flags.judgeUrl, model: flags.judgeModel } }
            : {}),
        }),
    seed: flags.seed,
    workers: flags.workers,
    checkpointEvery: flags.checkpointEvery,
    maxSteps: flags.maxSteps,
  };
}

async function submitFinetune(
  kind: 'classification' | 'instruction',
  flags: FinetuneSubmitFlags,
  connect: () => { api: CoordinatorApi; dashboardUrl?: string },
): Promise<void> {
  const { api, dashboardUrl } = connect();
  const job = await api.createFinetune(finetuneSpecOf(kind, flags));
  info(
    flags.json,
    `submitted ${job.id}${dashboardUrl ? `; follow it at ${dashboardUrl}#/finetunes/${job.id}` : ''}`,
  );
  const result = flags.wait ? await followFinetune(api, job.id, Boolean(flags.json)) : finetuneSummary(job);
  if (flags.json) printJson(result);
}

/**
 * Polls the job until it ends, with a progress bar, through coordinator restarts (followJob);
 * throws when it failed or was cancelled.
 */
async function followFinetune(api: CoordinatorApi, id: string, json: boolean): Promise<object> {
  const first = await api.finetune(id);
  const progress = new TrainProgress(Math.max(first.progress.totalSteps, 1), first.progress.step, json);
  let seen = 0;
  const job = await followJob(() => api.finetune(id), {
    onOutage: (line) => progress.log(line),
    onJob: (job) => {
      const metrics = job.metrics ?? [];
      const last = metrics.at(-1);
      if (last && metrics.length !== seen) {
        const total = Math.max(job.progress.totalSteps, 1);
        progress.step(job.progress.step, total, last.trainLoss, last.tokensPerSecond);
        for (const m of metrics.slice(seen).filter((p) => p.valLoss !== undefined)) {
          const acc =
            m.valAccuracy === undefined ? '' : `, val accuracy ${(100 * m.valAccuracy).toFixed(1)}%`;
          progress.log(
            // An epoch's train loss is trainEvalLoss (as forge finetune prints it), not the step's loss.
            `epoch ${m.epoch}: train loss ${m.trainEvalLoss?.toFixed(3) ?? '-'}, val loss ${m.valLoss?.toFixed(3)}${acc}`,
          );
        }
        seen = metrics.length;
      }
      return ['completed', 'failed', 'cancelled'].includes(job.status);
    },
  });
  progress.stop();
  if (job.status !== 'completed') {
    throw new ForgeError(`finetune ${id} ${job.status}${job.error ? `: ${job.error}` : ''}`);
  }
  info(json, `finetune ${id} completed; model in ${job.modelDir ?? job.outDir}`);
  return finetuneSummary(job);
}

/** The job as `--json` prints it: the keys of `forge finetune classify|instruct --json`. */
function finetuneSummary(job: ApiFinetune): object {
  const e = job.evaluation;
  const base = {
    finetune_id: job.id,
    status: job.status,
    steps: job.progress.step,
    attempts: job.progress.attempt + 1,
    trainable_parameters: job.trainableParameters ?? null,
    model_dir: job.modelDir ?? null,
  };
  if (e && 'confusionMatrix' in e) {
    return {
      ...base,
      train_accuracy: e.accuracy.train ?? null,
      val_accuracy: e.accuracy.validation ?? null,
      test_accuracy: e.accuracy.test ?? null,
      labels: e.labels,
      confusion_matrix: e.confusionMatrix,
    };
  }
  if (e && 'responsesFile' in e) {
    return {
      ...base,
      train_loss: e.trainLoss,
      val_loss: e.valLoss,
      responses_file: e.responsesFile,
      average_score: e.averageScore ?? null,
    };
  }
  return base;
}
