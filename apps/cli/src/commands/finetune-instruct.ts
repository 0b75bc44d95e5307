/**
 * `forge finetune instruct`: instruction finetuning (the book's ch. 7) from a checkpoint or a
 * fresh preset, then responses to the held-out test split, optionally scored by a judge model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { ForgeError, GPT2_VOCAB_SIZE, PRESET_NAMES, saveModel, type GPTModel } from '@llm-forge/gpt';
import {
  finetuneInstructions,
  generateResponses,
  judgeOptionsFrom,
  loadInstructionData,
  mergedParameters,
  promptStyle,
  promptStyleNames,
  saveResponses,
  splitInstructionData,
  type JudgeOptions,
} from '@llm-forge/finetune';
import { FINETUNE_DEFAULTS as D } from '@llm-forge/cluster-protocol';
import { modelFromCheckpoint, modelFromPreset } from '../model-source';
import { MODEL_HELP, resolveModelOption } from '../references';
import { integer, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { TrainProgress } from '../progress';
import { judgeResponses } from './judge';

interface InstructFlags {
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
  evalEvery: number;
  evalBatches: number;
  maxNewTokens: number;
  testLimit?: number;
  seed: number;
  judgeUrl?: string;
  judgeModel?: string;
  judgeApiKey?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** File names written into --out beside the model. */
export const RESPONSES_FILE = 'responses.json';
export const METRICS_FILE = 'finetune.json';
export const ADAPTER_DIR = 'adapter';

/** Registers `forge finetune instruct`. */
export function finetuneInstructCommand(): Command {
  return new Command('instruct')
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
    .option('--max-length <L>', 'cut examples to L tokens (default: the model context length)', positiveInt)
    .option(
      '--eval-every <N>',
      'train/validation loss every N steps (0: before and after only)',
      nonNegativeInt,
      5,
    )
    .option('--eval-batches <N>', 'batches per loss estimate (0: the whole split)', nonNegativeInt, 5)
    .option('--max-new-tokens <N>', 'longest generated response', nonNegativeInt, 256)
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

function baseModel(flags: InstructFlags): GPTModel {
  if (!flags.model === !flags.preset) {
    throw new ForgeError(
      'give exactly one of --model <dir> (a checkpoint) or --preset <name> (random weights)',
    );
  }
  if (!flags.model) return modelFromPreset(flags.preset as string, flags.seed);
  const model = modelFromCheckpoint(flags.model);
  if (model.config.vocabSize !== GPT2_VOCAB_SIZE) {
    const size = model.config.vocabSize;
    model.dispose();
    throw new ForgeError(
      `${flags.model}: the checkpoint's vocabulary has ${size} tokens, not GPT-2's ${GPT2_VOCAB_SIZE}`,
      'instruction data is tokenized with GPT-2 BPE: use a GPT-2-vocabulary checkpoint',
    );
  }
  return model;
}

async function runInstruct(flags: InstructFlags): Promise<void> {
  if (fs.existsSync(flags.out) && !flags.overwrite) {
    throw new ForgeError(
      `${flags.out} already exists`,
      'pass --overwrite to replace it or choose another --out',
    );
  }
  const style = promptStyle(flags.style);
  const judge = judgeSettings(flags);
  const backend = await startBackend();
  const split = splitInstructionData(loadInstructionData(flags.data), { seed: flags.seed });
  const model = baseModel(flags);
  info(
    flags.json,
    `backend ${backend.name}; model ${model.parameterCount.toLocaleString()} parameters; ${split.train.length} train / ${split.validation.length} validation / ${split.test.length} test examples; style ${style.name}`,
  );

  const perEpoch = Math.floor(split.train.length / flags.batchSize);
  const progress = new TrainProgress(perEpoch * flags.epochs, 0, Boolean(flags.json));
  const interrupt = stopOnInterrupt(progress);
  const summary = await finetuneInstructions(
    model,
    split,
    {
      style,
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      lr: flags.lr,
      weightDecay: flags.weightDecay,
      maxLength: flags.maxLength,
      maskPrompt: flags.maskInstruction,
      evalEvery: flags.evalEvery,
      evalBatches: flags.evalBatches,
      seed: flags.seed,
      lora: flags.loraRank ? { rank: flags.loraRank, alpha: flags.loraAlpha ?? flags.loraRank } : undefined,
    },
    {
      onStep: (s) => progress.step(s.step + 1, s.totalSteps, s.loss, s.tokensPerSecond),
      onEval: (e) =>
        progress.log(
          `step ${e.step}: train loss ${e.trainLoss.toFixed(3)}, val loss ${e.valLoss.toFixed(3)}`,
        ),
    },
    interrupt.signal,
  );
  interrupt.dispose();
  progress.stop();

  // With LoRA the saved model has the adapters merged in (it loads anywhere); the adapters alone
  // go to <out>/adapter for `forge lora merge` onto another copy of the base.
  const adapters = summary.adapters;
  const params = adapters ? mergedParameters(model, adapters) : model.readParameters();
  saveModel(flags.out, model.config, params, { overwrite: flags.overwrite });
  const adapterDir = adapters ? path.join(flags.out, ADAPTER_DIR) : undefined;
  if (adapters && adapterDir) adapters.save(adapterDir);
  const test = split.test.slice(0, flags.testLimit ?? split.test.length);
  const responses = await generateResponses(model, test, {
    style,
    maxNewTokens: flags.maxNewTokens,
    onResponse: (_, i) => info(flags.json, `response ${i + 1}/${test.length}`),
  });
  adapters?.dispose();
  model.dispose();
  const responsesFile = path.join(flags.out, RESPONSES_FILE);
  saveResponses(responsesFile, responses);
  for (const r of responses.slice(0, 3)) {
    info(flags.json, `\n${r.prompt}${r.model_response}\n(expected: ${r.output})`);
  }

  const result = {
    train_loss: summary.final.trainLoss,
    val_loss: summary.final.valLoss,
    initial_train_loss: summary.initial.trainLoss,
    initial_val_loss: summary.initial.valLoss,
    steps: summary.steps,
    step_losses: summary.stepLosses,
    evals: summary.evals.map((e) => ({ step: e.step, train_loss: e.trainLoss, val_loss: e.valLoss })),
    examples: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    responses: responses.length,
    tokens_per_second: summary.tokensPerSecond,
    style: style.name,
    mask_instruction: Boolean(flags.maskInstruction),
    trainable_parameters: summary.trainableParameters,
    lora_rank: flags.loraRank ?? null,
    lora_alpha: flags.loraRank ? (flags.loraAlpha ?? flags.loraRank) : null,
    adapter_dir: adapterDir ?? null,
    checkpoint: flags.out,
    responses_file: responsesFile,
    backend: backend.name,
  };
  fs.writeFileSync(path.join(flags.out, METRICS_FILE), `${JSON.stringify(result, null, 2)}\n`);
  info(flags.json, `saved model, ${RESPONSES_FILE} and ${METRICS_FILE} to ${flags.out}`);
  const judged = judge ? await judgeResponses(responsesFile, judge, flags.json) : {};
  if (flags.json) printJson({ ...result, ...judged });
}

/** The first Ctrl-C ends training after the current step; responses and the model are still saved. */
function stopOnInterrupt(progress: TrainProgress): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    progress.log('interrupted: stopping after this step, then saving (Ctrl-C again to quit now)');
    controller.abort();
    process.removeListener('SIGINT', onInterrupt);
    process.once('SIGINT', () => process.exit(130));
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onInterrupt) };
}
