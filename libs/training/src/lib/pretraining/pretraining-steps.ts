/**
 * The pieces of a pretraining step that every driver shares — a worker's rank jobs and `forge
 * train` alike: the data order (rank r's slice of global batch s, the same for any world size),
 * micro-batches, the evaluation (train and validation loss over the first global batches) and the
 * greedy sample.
 *
 * B = global batch size, b = this rank's rows, T = context length, N = world size.
 */
import { countWindows, DistributedBatchLoader, type TokenStream } from '@llm-forge/data-shards';
import { createTokenizer, generate, meanLoss, type Batch, type GPTModel } from '@llm-forge/gpt';
import { rowShare, type LocalShare } from '../loop/local-share';
import type { RunTrainerState, Replica } from './replica';

/** Prompt of the samples generated at evaluation steps (the book's). */
export const SAMPLE_PROMPT = 'Every effort moves you';
/** Tokens of a sample. */
export const SAMPLE_TOKENS = 24;

/** Train and validation loss at a step. */
export interface PretrainingEval {
  trainLoss: number;
  valLoss?: number;
}

/** Rank `rank` of `worldSize`'s loader over the run's training windows. */
export function rankLoader(replica: Replica, rank: number, worldSize: number): DistributedBatchLoader {
  const { spec } = replica;
  return new DistributedBatchLoader(replica.data.train, {
    contextLength: replica.contextLength,
    stride: replica.stride,
    batchSize: spec.batchSize,
    shuffle: spec.shuffle,
    seed: spec.seed,
    rank,
    worldSize,
  });
}

/** This rank's share of global batch `step` (0-based), split into the spec's micro-batches. */
export function stepShare(replica: Replica, loader: DistributedBatchLoader, step: number): LocalShare {
  const epoch = Math.floor(step / loader.stepsPerEpoch);
  const slice = loader.batchAt(epoch, step % loader.stepsPerEpoch);
  return rowShare(microBatches(slice, replica.spec.microBatchSize), replica.spec.batchSize);
}

/** Where the data stands after `steps` steps (stored in checkpoints). */
export function dataPosition(
  replica: Replica,
  loader: DistributedBatchLoader,
  steps: number,
): RunTrainerState['data'] {
  return {
    seed: replica.spec.seed,
    epoch: Math.floor(steps / loader.stepsPerEpoch),
    step: steps % loader.stepsPerEpoch,
  };
}

/** Train and validation loss over the first `evalBatches` global batches of each split. */
export function evaluateReplica(replica: Replica): PretrainingEval {
  const n = replica.spec.evalBatches;
  const firstBatches = (stream: TokenStream): Batch[] => {
    const loader = new DistributedBatchLoader(stream, {
      contextLength: replica.contextLength,
      stride: replica.stride,
      batchSize: Math.min(
        replica.spec.batchSize,
        countWindows(stream.length, replica.contextLength, replica.stride),
      ),
      shuffle: false,
      seed: replica.spec.seed,
    });
    return Array.from({ length: Math.min(n, loader.stepsPerEpoch) }, (_, i) => loader.globalBatchAt(0, i));
  };
  const trainLoss = meanLoss(replica.model, firstBatches(replica.data.train)).loss;
  const validation = replica.data.validation;
  const canValidate =
    validation !== undefined && countWindows(validation.length, replica.contextLength, replica.stride) > 0;
  if (!canValidate) return { trainLoss };
  return { trainLoss, valLoss: meanLoss(replica.model, firstBatches(validation)).loss };
}

/** A greedy continuation of `prompt` (the book's generate_and_print_sample). */
export function sampleText(model: GPTModel, prompt = SAMPLE_PROMPT, maxNewTokens = SAMPLE_TOKENS): string {
  const tokenizer = createTokenizer();
  const ids = tokenizer.encode(prompt);
  return tokenizer.decode([...ids, ...generate(model, ids, { maxNewTokens })]);
}

/** Splits b rows into micro-batches of at most `rows` rows (as equal as possible). */
export function microBatches(slice: Batch, rows?: number): Batch[] {
  const b = slice.batchSize;
  if (rows === undefined || rows >= b) return [slice];
  const count = Math.ceil(b / rows);
  const T = slice.contextLength;
  const out: Batch[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(b / count) + (i < b % count ? 1 : 0);
    const range = [start * T, (start + size) * T] as const;
    out.push({
      inputs: slice.inputs.subarray(...range),
      targets: slice.targets.subarray(...range),
      batchSize: size,
      contextLength: T,
    });
    start += size;
  }
  return out;
}
