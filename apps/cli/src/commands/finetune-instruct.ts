/**
 * `forge finetune instruct`: instruction finetuning (the book's ch. 7) from a checkpoint or a
 * fresh preset, then responses to the held-out test split, optionally scored by a judge model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { PRESET_NAMES } from '@llm-forge/gpt';
import {
  ADAPTER_SUBDIR,
  InstructionTask,
  judgeOptionsFrom,
  promptStyle,
  promptStyleNames,
  RESPONSES_FILE,
  type JudgeOptions,
  type TrainedJob,
} from '@llm-forge/finetune';
import {
  FINETUNE_DEFAULTS as D,
  SPEC_LIMITS,
  type FinetuneMetric,
  type FinetuneSpec,
  type InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import { MODEL_HELP, resolveModelOption } from '../references';
import { integer, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { contextFit, contextWarning } from '../instruction-fit';
import { judgeResponses } from './judge';
import {
  addInstructionEvalOptions,
  baseOf,
  checkBaseAndOut,
  addMaxStepsOption,
  finetuneAlone,
  hyperparametersOf,
  instructionEvalFields,
  meanTokensPerSecond,
  parseSpec,
  type InstructionEvalFlags,
} from './finetune-run';

interface InstructFlags extends InstructionEvalFlags {
  data: string;
  model?: string;
  preset?: string;
  out: string;
  style: string;
  maskInstruction?: boolean;
  loraRank?: number;
  loraAlpha?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  maxLength?: number;
  testLimit?: number;
  seed: number;
  maxSteps?: number;
  judgeUrl?: string;
  judgeModel?: string;
  judgeApiKey?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** The metrics file written into --out beside the model, `responses.json` and `adapter/`. */
export const METRICS_FILE = 'finetune.json';
/** Train/validation loss every N steps by default: the book's eval_freq (the job's default is epoch ends only). */
const EVAL_EVERY = 5;

/** Registers `forge finetune instruct`. */
export function finetuneInstructCommand(): Command {
  const command = new Command('instruct')
    .description('instruction finetuning on Alpaca-format data; writes the model and test-split responses')
    .requiredOption('--data <file>', 'Alpaca-format JSON array or JSON Lines ({instruction, input, output})')
    .option('--model <model>', `base model to finetune: ${MODEL_HELP}`)
    .addOption(
      new Option('--preset <name>', 'start from random weights of this preset').choices(PRESET_NAMES),
    )
    .requiredOption('--out <dir>', 'directory for the finetuned model, responses and metrics')
    .option('--style <name>', `prompt style (${promptStyleNames().join(', ')})`, 'alpaca')
    .option('--mask-instruction', 'train on the response tokens only (the prompt carries no loss)')
    .option('--lora-rank <R>', 'train LoRA adapters of this rank instead of all weights', positiveInt)
    .option(
      '--lora-alpha <A>',
      'LoRA scale numerator (scale = alpha / rank; default: the rank)',
      positiveNumber,
    )
    .option('--epochs <E>', 'passes over the training split', positiveInt, D.epochs.instruction)
    .option('--batch-size <B>', 'examples per batch', positiveInt, D.batchSize)
    .option('--lr <x>', 'AdamW learning rate (constant)', positiveNumber, D.lr)
    .option('--weight-decay <w>', 'AdamW decoupled weight decay', nonNegativeNumber, D.weightDecay)
    .option('--max-length <L>', 'cut examples to L tokens (default: the model context length)', positiveInt);
  return addMaxStepsOption(addInstructionEvalOptions(command, EVAL_EVERY))
    .option('--test-limit <N>', 'answer only the first N test entries (default: all)', nonNegativeInt)
    .option(
      '--seed <N>',
      'seed of the split, shuffling, dropout and a preset initialisation',
      integer,
      D.seed,
    )
    .option(
      '--judge-url <url>',
      'score the responses with an OpenAI-compatible chat endpoint (or FORGE_JUDGE_URL)',
    )
    .option('--judge-model <name>', 'judge model name (or FORGE_JUDGE_MODEL)')
    .option('--judge-api-key <key>', 'bearer token for the judge (or FORGE_JUDGE_API_KEY)')
    .option('--overwrite', 'replace an existing --out directory')
    .option('--json', 'print a JSON summary as the last line')
    .action(async (flags: InstructFlags) =>
      runInstruct({ ...flags, model: await resolveModelOption(flags.model) }),
    );
}

/** The judge to use, checked before training so a missing setting fails fast; none if not asked for. */
function judgeSettings(flags: InstructFlags): JudgeOptions | undefined {
  if (!flags.judgeUrl && !flags.judgeModel) return undefined;
  return judgeOptionsFrom({ url: flags.judgeUrl, model: flags.judgeModel, apiKey: flags.judgeApiKey });
}

/** The job spec of the flags: what `forge submit finetune instruct` would send (and more). */
function instructSpecOf(flags: InstructFlags): FinetuneSpec {
  return parseSpec({
    kind: 'instruction',
    ...baseOf(flags),
    dataset: flags.data,
    hyperparameters: hyperparametersOf(flags),
    ...(flags.loraRank !== undefined ? { lora: { rank: flags.loraRank, alpha: flags.loraAlpha } } : {}),
    style: flags.style as FinetuneSpec['style'],
    maskInstruction: Boolean(flags.maskInstruction),
    // Without --test-limit every test entry is answered (up to the spec's bound, far above any test split).
    maxResponses: flags.testLimit ?? SPEC_LIMITS.maxResponses,
    ...instructionEvalFields(flags),
    seed: flags.seed,
    maxSteps: flags.maxSteps,
  });
}

/** An evaluation's line: the train loss estimate (`trainEvalLoss`) and the validation loss. */
function evalLine(p: FinetuneMetric): string {
  return `step ${p.step}: train loss ${p.trainEvalLoss?.toFixed(3)}, val loss ${p.valLoss?.toFixed(3)}`;
}

/** Losses before training, at every evaluation, and after the last step. */
function evalsOf(job: TrainedJob, evaluation: InstructionEvaluation) {
  const initial = { step: 0, train_loss: evaluation.initialTrainLoss, val_loss: evaluation.initialValLoss };
  const during = job.history
    .evaluations()
    .map((p) => ({ step: p.step, train_loss: p.trainEvalLoss, val_loss: p.valLoss }));
  const steps = job.trainer.stepsDone;
  // Stopped early (Ctrl-C), the last step was not evaluated during training: the final losses are.
  const final = { step: steps, train_loss: evaluation.trainLoss, val_loss: evaluation.valLoss };
  return [initial, ...during, ...(during.at(-1)?.step === steps || steps === 0 ? [] : [final])];
}

async function runInstruct(flags: InstructFlags): Promise<void> {
  checkBaseAndOut(flags);
  const style = promptStyle(flags.style);
  const judge = judgeSettings(flags);
  const spec = instructSpecOf(flags);
  const backend = await startBackend();
  const task = InstructionTask.create(spec);
  const { split } = task.data;
  info(
    flags.json,
    `backend ${backend.name}; model ${task.model.parameterCount.toLocaleString()} parameters; ${split.train.length} train / ${split.validation.length} validation / ${split.test.length} test examples; style ${style.name}`,
  );
  const modelContext = task.model.config.contextLength;
  const context = spec.hyperparameters.maxLength ?? modelContext;
  const warning = contextWarning(contextFit(task.data.train, context), context, modelContext);
  if (warning) info(flags.json, warning);
  const job = await finetuneAlone(spec, task, {
    out: flags.out,
    json: flags.json,
    evalLine,
  });
  // With LoRA the saved model has the adapters merged in (it loads anywhere); the adapters alone
  // go to <out>/adapter for `forge lora merge` onto another copy of the base.
  const { evaluation, responses } = await task
    .finish({ outDir: flags.out, modelDir: flags.out, initial: job.initial, log: (m) => info(flags.json, m) })
    .finally(() => task.dispose());
  for (const r of responses.slice(0, 3)) {
    info(flags.json, `\n${r.prompt}${r.model_response}\n(expected: ${r.output})`);
  }
  const result = {
    train_loss: evaluation.trainLoss,
    val_loss: evaluation.valLoss,
    initial_train_loss: evaluation.initialTrainLoss,
    initial_val_loss: evaluation.initialValLoss,
    steps: job.trainer.stepsDone,
    step_losses: job.history.losses(),
    evals: evalsOf(job, evaluation),
    examples: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    responses: responses.length,
    tokens_per_second: meanTokensPerSecond(job.history.points),
    style: style.name,
    mask_instruction: spec.maskInstruction,
    trainable_parameters: job.trainer.params.length,
    lora_rank: spec.lora?.rank ?? null,
    lora_alpha: spec.lora ? (spec.lora.alpha ?? spec.lora.rank) : null,
    adapter_dir: spec.lora ? path.join(flags.out, ADAPTER_SUBDIR) : null,
    checkpoint: flags.out,
    responses_file: evaluation.responsesFile,
    backend: backend.name,
  };
  fs.writeFileSync(path.join(flags.out, METRICS_FILE), `${JSON.stringify(result, null, 2)}\n`);
  info(flags.json, `saved model, ${RESPONSES_FILE} and ${METRICS_FILE} to ${flags.out}`);
  const judged = judge ? await judgeResponses(evaluation.responsesFile, judge, flags.json) : {};
  if (flags.json) printJson({ ...result, ...judged });
}
