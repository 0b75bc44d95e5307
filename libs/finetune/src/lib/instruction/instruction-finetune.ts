/**
 * Instruction finetuning as the book's ch. 7 (`train_model_simple` over instruction batches):
 * AdamW on every parameter, train and validation loss every few steps, a seeded new shuffle per
 * epoch, the last incomplete training batch dropped.
 */
import {
  ConfigError,
  DataError,
  Trainer,
  batchLoss,
  type Batch,
  type GPTModel,
  type StepResult,
  type Tokenizer,
} from '@llm-forge/gpt';
import type { InstructionSplit } from './instruction-dataset';
import { batchCount, encodeInstructions, instructionBatches } from './instruction-dataset';
import type { EncodedExample } from './collate';
import type { PromptStyle } from './prompt-style';
import { LoraLmTrainer, type LoraAdapters } from '../lora';
import type { InstructionLoraOptions, InstructionStepper } from './instruction-lora';

/** Hyperparameters of {@link finetuneInstructions} (defaults: the book's ch. 7 run). */
export interface InstructionFinetuneOptions {
  style: PromptStyle;
  /** @defaultValue 2 */
  epochs?: number;
  /** @defaultValue 8 */
  batchSize?: number;
  /** Constant AdamW learning rate. @defaultValue 5e-5 */
  lr?: number;
  /** @defaultValue 0.1 */
  weightDecay?: number;
  /** Global gradient-norm clip; 0 disables it (the book does not clip). @defaultValue 0 */
  gradClip?: number;
  /** Cut examples to this many tokens. @defaultValue the model's context length */
  maxLength?: number;
  /** Train on the response tokens only. @defaultValue false */
  maskPrompt?: boolean;
  /** Evaluate every N optimizer steps (and before and after training); 0: only before and after. @defaultValue 5 */
  evalEvery?: number;
  /** Batches per loss estimate (the book's eval_iter); 0: the whole split. @defaultValue 5 */
  evalBatches?: number;
  /** Seed of the shuffle and dropout. @defaultValue 123 */
  seed?: number;
  tokenizer?: Tokenizer;
  /**
   * Train LoRA adapters on every block linear layer instead of all weights (the base stays
   * frozen); the summary returns them. Their A matrices derive from `lora.seed` (default `seed`).
   */
  lora?: InstructionLoraOptions;
  /**
   * Takes the optimizer steps instead of a full-parameter {@link Trainer} or the LoRA stepper;
   * losses are still measured through `model.forward`.
   */
  stepper?: InstructionStepper;
}

/** Train and validation loss after `step` optimizer steps. */
export interface InstructionEval {
  step: number;
  trainLoss: number;
  valLoss: number;
  tokensSeen: number;
}

/** Callbacks of {@link finetuneInstructions}. */
export interface InstructionFinetuneEvents {
  onStep?(step: StepResult & { totalSteps: number; epoch: number; tokensPerSecond: number }): void;
  onEval?(record: InstructionEval): void;
}

/** What a finetuning run did. */
export interface InstructionFinetuneSummary {
  /** Losses before the first step. */
  initial: InstructionEval;
  /** Losses after the last step. */
  final: InstructionEval;
  evals: InstructionEval[];
  stepLosses: number[];
  steps: number;
  /** Input tokens (padding included) per second of training steps. */
  tokensPerSecond: number;
  examples: { train: number; validation: number };
  /** Values the optimizer updated (all parameters, or the adapters' A and B). */
  trainableParameters: number;
  /** The trained adapters, attached to the model, with `lora`. */
  adapters?: LoraAdapters;
}

/** Resolved options with every default filled in. */
type Resolved = Required<Omit<InstructionFinetuneOptions, 'tokenizer' | 'stepper' | 'maxLength' | 'lora'>> & {
  maxLength: number;
};

function resolve(model: GPTModel, options: InstructionFinetuneOptions): Resolved {
  const context = model.config.contextLength;
  const r: Resolved = {
    style: options.style,
    epochs: options.epochs ?? 2,
    batchSize: options.batchSize ?? 8,
    lr: options.lr ?? 5e-5,
    weightDecay: options.weightDecay ?? 0.1,
    gradClip: options.gradClip ?? 0,
    maxLength: options.maxLength ?? context,
    maskPrompt: options.maskPrompt ?? false,
    evalEvery: options.evalEvery ?? 5,
    evalBatches: options.evalBatches ?? 5,
    seed: options.seed ?? 123,
  };
  if (!(Number.isInteger(r.maxLength) && r.maxLength >= 2 && r.maxLength <= context)) {
    throw new ConfigError(
      'max-length',
      r.maxLength,
      `an integer in [2, ${context}] (the model's context length)`,
    );
  }
  if (!(Number.isInteger(r.epochs) && r.epochs >= 1))
    throw new ConfigError('epochs', r.epochs, 'an integer >= 1');
  return r;
}

/** Mean of each batch's loss over the first `maxBatches` batches (all when 0). */
function meanBatchLoss(model: GPTModel, batches: Iterable<Batch>, maxBatches: number): number {
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    if (maxBatches > 0 && count >= maxBatches) break;
    total += batchLoss(model, batch);
    count++;
  }
  return count ? total / count : NaN;
}

/**
 * Finetunes `model` in place on `split.train`, measuring loss on `split.validation`. Yields to the
 * event loop between steps; stops early (state still consistent) when `signal` aborts.
 */
export async function finetuneInstructions(
  model: GPTModel,
  split: Pick<InstructionSplit, 'train' | 'validation'>,
  options: InstructionFinetuneOptions,
  events: InstructionFinetuneEvents = {},
  signal?: AbortSignal,
): Promise<InstructionFinetuneSummary> {
  const r = resolve(model, options);
  const train = encodeInstructions(split.train, r.style, options.tokenizer);
  const validation = encodeInstructions(split.validation, r.style, options.tokenizer);
  const perEpoch = batchCount(train.length, r.batchSize, true);
  if (perEpoch === 0) {
    throw new DataError(
      `the training split has ${train.length} examples, fewer than one batch of ${r.batchSize}`,
      `pass a smaller --batch-size (at most ${train.length}) or more data`,
    );
  }
  const totalSteps = perEpoch * r.epochs;
  const collate = { allowedMaxLength: r.maxLength, maskPrompt: r.maskPrompt };
  const { stepper, adapters, trainableParameters } = makeStepper(model, options, r, totalSteps);
  const batchesOf = (examples: EncodedExample[]) =>
    instructionBatches(examples, { ...collate, batchSize: r.batchSize });
  let tokensSeen = 0;
  const evaluate = (step: number): InstructionEval => ({
    step,
    trainLoss: meanBatchLoss(model, batchesOf(train), r.evalBatches),
    valLoss: meanBatchLoss(model, batchesOf(validation), r.evalBatches),
    tokensSeen,
  });

  const initial = evaluate(0);
  const evals = [initial];
  events.onEval?.(initial);
  const stepLosses: number[] = [];
  let trainSeconds = 0;
  training: for (let epoch = 0; epoch < r.epochs; epoch++) {
    const epochBatches = instructionBatches(train, {
      ...collate,
      batchSize: r.batchSize,
      shuffle: true,
      seed: r.seed,
      epoch,
      dropLast: true,
    });
    for (const batch of epochBatches) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) break training;
      const t0 = performance.now();
      const result = stepper.step([batch]);
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      tokensSeen += result.tokens;
      stepLosses.push(result.loss);
      events.onStep?.({ ...result, totalSteps, epoch, tokensPerSecond: result.tokens / seconds });
      const done = stepLosses.length;
      if (r.evalEvery > 0 && done % r.evalEvery === 0 && done < totalSteps) {
        evals.push(evaluate(done));
        events.onEval?.(evals[evals.length - 1]);
      }
    }
  }
  const final = evaluate(stepLosses.length);
  if (final.step > 0) {
    evals.push(final);
    events.onEval?.(final);
  }
  return {
    initial,
    final,
    evals,
    stepLosses,
    steps: stepLosses.length,
    tokensPerSecond: trainSeconds > 0 ? tokensSeen / trainSeconds : 0,
    examples: { train: train.length, validation: validation.length },
    trainableParameters,
    adapters,
  };
}

/** The given stepper, LoRA adapters with their own trainer, or AdamW over every parameter. */
function makeStepper(
  model: GPTModel,
  options: InstructionFinetuneOptions,
  r: Resolved,
  totalSteps: number,
): { stepper: InstructionStepper; adapters?: LoraAdapters; trainableParameters: number } {
  if (options.stepper) return { stepper: options.stepper, trainableParameters: model.parameterCount };
  if (options.lora) {
    const { rank, alpha, seed = r.seed } = options.lora;
    const { lr, weightDecay, gradClip } = r;
    const lora = new LoraLmTrainer(model, { rank, alpha, lr, weightDecay, gradClip, seed });
    return { stepper: lora, adapters: lora.adapters, trainableParameters: lora.trainableParameters };
  }
  const schedule = { lr: r.lr, minLr: r.lr, warmupSteps: 0, totalSteps, schedule: 'constant' as const };
  const trainer = new Trainer(model, {
    schedule,
    adamw: { weightDecay: r.weightDecay },
    gradClip: r.gradClip,
    seed: r.seed,
  });
  return { stepper: trainer, trainableParameters: model.parameterCount };
}
