/**
 * An instruction finetune job (the book's chapter 7; `forge finetune instruct` is this job on one
 * process): Alpaca data split 85/10/5, the book's collate, a seeded shuffle per epoch with the last
 * incomplete batch dropped; all weights or LoRA adapters train.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  FINETUNE_OPTION_DEFAULTS as O,
  type FinetuneMetric,
  type FinetuneSpec,
  type InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import {
  batchTensors,
  ConfigError,
  crossEntropy,
  DataError,
  deriveSeed,
  IGNORE_INDEX,
  meanLoss,
  saveModel,
  type Batch,
  type GPTModel,
  modelTrainables,
  type TrainableTensor,
} from '@llm-forge/gpt';
import { ADAPTER_SUBDIR } from '../classification/classifier';
import type { EncodedExample } from '../instruction/collate';
import { loadInstructionData } from '../instruction/instruction-data';
import {
  batchCount,
  encodeInstructions,
  instructionBatches,
  splitInstructionData,
  type InstructionSplit,
} from '../instruction/instruction-dataset';
import { promptStyle, type PromptStyle } from '../instruction/prompt-style';
import { generateResponses, saveResponses, type InstructionResponse } from '../instruction/responses';
import { chatCompletionsUrl, JudgeClient } from '../judge/judge-client';
import { scoreResponses } from '../judge/judge-scores';
import { LoraAdapters } from '../lora/lora-adapters';
import { mergedParameters } from '../lora/lora-merge';
import { loadBaseModel } from './base-model';
import {
  evaluateAlone,
  finite,
  modelDirOf,
  rankRows,
  type FinishOptions,
  type ShardedEvaluation,
  type InitialLosses,
  type JobTask,
  type LocalStep,
  type TaskOutputs,
} from './job-task';

/** File of the test-split responses in the job's output directory. */
export const RESPONSES_FILE = 'responses.json';

/** What an instruction job produces: the protocol's evaluation, and the responses with their prompts. */
export interface InstructionOutputs extends TaskOutputs {
  evaluation: InstructionEvaluation;
  responses: InstructionResponse[];
}

/** The split and tokenized data of an instruction job. */
export interface InstructionData {
  split: InstructionSplit;
  style: PromptStyle;
  train: EncodedExample[];
  validation: EncodedExample[];
}

/** Loads (DataError naming file and line), limits to `maxExamples`, splits and tokenizes the data. */
export function instructionData(spec: FinetuneSpec): InstructionData {
  const style = promptStyle(spec.style);
  let entries = loadInstructionData(spec.dataset);
  if (spec.maxExamples !== undefined) entries = entries.slice(0, spec.maxExamples);
  const split = splitInstructionData(entries, { seed: spec.seed });
  return {
    split,
    style,
    train: encodeInstructions(split.train, style),
    validation: encodeInstructions(split.validation, style),
  };
}

/** Rows [lo, hi) of a collated batch (same padded length, so targets are unchanged). */
function sliceBatch(batch: Batch, lo: number, hi: number): Batch {
  const T = batch.contextLength;
  return {
    inputs: batch.inputs.subarray(lo * T, hi * T),
    targets: batch.targets.subarray(lo * T, hi * T),
    batchSize: hi - lo,
    contextLength: T,
  };
}

/** Targets that carry loss. */
function countTargets(targets: Int32Array): number {
  let n = 0;
  for (const t of targets) if (t !== IGNORE_INDEX) n++;
  return n;
}

/** A language model (all weights or LoRA adapters training) and the job's instruction batches. */
export class InstructionTask implements JobTask {
  readonly trainables: TrainableTensor[];
  readonly stepsPerEpoch: number;
  readonly totalParameters: number;
  readonly adapters?: LoraAdapters;
  private readonly maxLength: number;
  private epochBatches?: { epoch: number; batches: Batch[] };

  private constructor(
    private readonly spec: FinetuneSpec,
    readonly model: GPTModel,
    readonly data: InstructionData,
  ) {
    const context = model.config.contextLength;
    this.maxLength = spec.hyperparameters.maxLength ?? context;
    if (this.maxLength < 2 || this.maxLength > context) {
      throw new ConfigError(
        'hyperparameters.maxLength',
        this.maxLength,
        `an integer in [2, ${context}] (the model's context length)`,
      );
    }
    const { batchSize } = spec.hyperparameters;
    this.stepsPerEpoch = batchCount(data.train.length, batchSize, true);
    if (this.stepsPerEpoch === 0) {
      throw new DataError(
        `${spec.dataset}: the training split has ${data.train.length} examples, fewer than one batch of ${batchSize}`,
        `use hyperparameters.batchSize ${data.train.length} or less, or more data`,
      );
    }
    if (spec.train === 'lora') {
      const rank = (spec.lora as { rank: number }).rank;
      this.adapters = LoraAdapters.attach(model, { rank, alpha: spec.lora?.alpha ?? rank, seed: spec.seed });
      this.trainables = this.adapters.trainables();
    } else if (spec.train === 'all') {
      this.trainables = modelTrainables(
        model,
        model.layout.specs.map((s) => s.name),
      );
    } else {
      throw new ConfigError('train', spec.train, '"all" or "lora" for an instruction job');
    }
    this.totalParameters = model.parameterCount + (this.adapters?.parameterCount ?? 0);
  }

  /** Loads the data and the base model. */
  static create(spec: FinetuneSpec): InstructionTask {
    // A judge URL that can never be asked fails the job now, not after the whole training.
    if (spec.judge) chatCompletionsUrl(spec.judge.url);
    const data = instructionData(spec);
    const model = loadBaseModel(spec);
    try {
      return new InstructionTask(spec, model, data);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  private collate(extra: { shuffle?: boolean; epoch?: number; dropLast?: boolean } = {}) {
    return {
      allowedMaxLength: this.maxLength,
      maskPrompt: this.spec.maskInstruction,
      batchSize: this.spec.hyperparameters.batchSize,
      seed: this.spec.seed,
      ...extra,
    };
  }

  /** The global batch of a step: batch `k` of its epoch's seeded shuffle. */
  globalBatch(step: number): Batch {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    if (this.epochBatches?.epoch !== epoch) {
      const options = this.collate({ shuffle: true, epoch, dropLast: true });
      this.epochBatches = { epoch, batches: [...instructionBatches(this.data.train, options)] };
    }
    return this.epochBatches.batches[step % this.stepsPerEpoch];
  }

  localStep(step: number, rank: number, worldSize: number): LocalStep {
    const batch = this.globalBatch(step);
    const [lo, hi] = rankRows(batch.batchSize, rank, worldSize);
    const slice = sliceBatch(batch, lo, hi);
    // The loss is a mean over target tokens, so a slice stands for its share of the batch's tokens.
    const tokens = countTargets(slice.targets);
    const weight = tokens / countTargets(batch.targets);
    const batchTokens = batch.inputs.length;
    if (tokens === 0) return { weight: 0, batchTokens };
    // The Trainer's dropout seed of micro-batch 0; ranks draw their own masks.
    const dropoutSeed =
      worldSize === 1 ? deriveSeed(this.spec.seed, step, 0) : deriveSeed(this.spec.seed, step, 0, rank);
    const loss = () => {
      const { inputs, targets } = batchTensors(slice);
      const logits = this.model.forward(inputs, { training: true, dropoutSeed });
      return crossEntropy(logits, targets, IGNORE_INDEX);
    };
    return { loss, weight, batchTokens };
  }

  /**
   * The book's evaluation of a split (the mean loss of its first `evalBatches` unshuffled batches,
   * all of them with 0): this rank's [loss sum, batches] over its contiguous share of those batches.
   */
  private splitSums(examples: EncodedExample[], rank: number, worldSize: number): number[] {
    const limit = this.spec.evalBatches ?? O.evalBatches;
    const batches: Batch[] = [];
    for (const batch of instructionBatches(examples, this.collate())) {
      if (batches.length === limit && limit > 0) break;
      batches.push(batch);
    }
    const [lo, hi] = rankRows(batches.length, rank, worldSize);
    const share = batches.slice(lo, hi);
    return [share.length ? meanLoss(this.model, share).loss * share.length : 0, share.length];
  }

  initialLosses(rank: number, worldSize: number): ShardedEvaluation<InitialLosses> {
    const train = this.splitSums(this.data.train, rank, worldSize);
    const val = this.splitSums(this.data.validation, rank, worldSize);
    return {
      sums: Float32Array.from([...train, ...val]),
      result: ([trainSum, trainN, valSum, valN]) => ({
        trainLoss: trainSum / trainN,
        valLoss: valSum / valN,
      }),
    };
  }

  /** The training and validation loss estimates, as {@link initialLosses} measures them. */
  evaluate(rank: number, worldSize: number): ShardedEvaluation<Partial<FinetuneMetric>> {
    const { sums, result } = this.initialLosses(rank, worldSize);
    return {
      sums,
      result: (totals) => {
        const { trainLoss, valLoss } = result(totals);
        return finite({ trainEvalLoss: trainLoss, valLoss });
      },
    };
  }

  /**
   * Losses after training, the model saved to the model directory (`<outDir>/model` unless
   * `options.modelDir`; LoRA: merged, adapters in its `adapter/`), responses to the first
   * `maxResponses` test entries in `<outDir>/responses.json`, judged when a judge is configured (a
   * judge failure becomes `judgeNote`).
   */
  async finish(options: FinishOptions): Promise<InstructionOutputs> {
    const final = evaluateAlone(this.initialLosses(0, 1));
    const modelDir = modelDirOf(options);
    const params = this.adapters ? mergedParameters(this.model, this.adapters) : this.model.readParameters();
    saveModel(modelDir, this.model.config, params, { overwrite: true });
    if (this.adapters) this.adapters.save(path.join(modelDir, ADAPTER_SUBDIR));
    const test = this.data.split.test.slice(0, this.spec.maxResponses);
    const responses = await generateResponses(this.model, test, {
      style: this.data.style,
      maxNewTokens: this.spec.maxNewTokens ?? O.maxNewTokens,
      onResponse: (_, i) => {
        options.log?.(`response ${i + 1}/${test.length}`);
        options.checkAbort?.();
      },
    });
    const responsesFile = path.join(options.outDir, RESPONSES_FILE);
    fs.mkdirSync(options.outDir, { recursive: true });
    saveResponses(responsesFile, responses);
    const judged = await this.judge(responses, options);
    // Every saved state carries the initial losses; without one (never expected) report the final ones.
    const initial = options.initial ?? final;
    const evaluation: InstructionEvaluation = {
      initialTrainLoss: initial.trainLoss,
      initialValLoss: initial.valLoss,
      trainLoss: final.trainLoss,
      valLoss: final.valLoss,
      responses: responses.map((r, i) => ({
        instruction: r.instruction,
        ...(r.input ? { input: r.input } : {}),
        output: r.output,
        response: r.model_response,
        ...(judged.scores[i] !== undefined ? { score: judged.scores[i] } : {}),
      })),
      responsesFile,
      ...(judged.average !== undefined ? { averageScore: judged.average } : {}),
      ...(judged.note !== undefined ? { judgeNote: judged.note } : {}),
    };
    return { modelDir, evaluation, responses };
  }

  /** Scores from the configured judge; never throws (a failure is reported as a note). */
  private async judge(
    responses: InstructionResponse[],
    options: FinishOptions,
  ): Promise<{ scores: Array<number | undefined>; average?: number; note?: string }> {
    if (!this.spec.judge) return { scores: [], note: 'no judge configured' };
    if (responses.length === 0) return { scores: [], note: 'no test responses to judge' };
    try {
      const summary = await scoreResponses(new JudgeClient(this.spec.judge), responses);
      const scores = summary.judged.map((j) => j.score ?? undefined);
      if (summary.average === null) return { scores, note: 'the judge replied without a score in [0, 100]' };
      const note = summary.unparsed > 0 ? `${summary.unparsed} replies held no score` : undefined;
      return { scores, average: summary.average, note };
    } catch (error) {
      const message = (error as Error).message;
      options.log?.('judge failed; the job succeeds without scores', { error: message });
      return { scores: [], note: `judge failed: ${message}` };
    }
  }

  dispose(): void {
    this.adapters?.dispose();
    this.model.dispose();
  }
}
