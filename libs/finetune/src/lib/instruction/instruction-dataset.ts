/**
 * Instruction data ready for training: the book's 85/10/5 train/test/validation split (after a
 * seeded shuffle), tokenized examples, and epochs of collated batches.
 */
import { DataError, Rng, deriveSeed, createTokenizer, type Batch, type Tokenizer } from '@llm-forge/gpt';
import type { InstructionEntry } from './instruction-data';
import { promptText, trainingText, type PromptStyle } from './prompt-style';
import { collateInstructions, type CollateOptions, type EncodedExample } from './collate';

/** The three parts of a data set. */
export interface InstructionSplit {
  train: InstructionEntry[];
  validation: InstructionEntry[];
  test: InstructionEntry[];
}

/** Options of {@link splitInstructionData}. */
export interface SplitOptions {
  /** Fraction for training. @defaultValue 0.85 */
  trainFraction?: number;
  /** Fraction for testing; validation gets the rest. @defaultValue 0.1 */
  testFraction?: number;
  /** Shuffle with this seed before splitting; `null` keeps the file order (the book's set is pre-shuffled). @defaultValue 123 */
  seed?: number | null;
}

/**
 * Splits as the book does: the first `int(n * 0.85)` entries train, the next `int(n * 0.1)` test,
 * the rest validate. Throws a DataError when the training or validation part would be empty.
 */
export function splitInstructionData(
  entries: InstructionEntry[],
  options: SplitOptions = {},
): InstructionSplit {
  const trainFraction = options.trainFraction ?? 0.85;
  const testFraction = options.testFraction ?? 0.1;
  if (!(trainFraction > 0 && testFraction >= 0 && trainFraction + testFraction < 1)) {
    throw new DataError(
      `split fractions must satisfy 0 < train, 0 <= test and train + test < 1, got train ${trainFraction}, test ${testFraction}`,
    );
  }
  const order = [...entries];
  const seed = options.seed === undefined ? 123 : options.seed;
  if (seed !== null) new Rng(seed).shuffle(order);
  const nTrain = Math.floor(order.length * trainFraction);
  const nTest = Math.floor(order.length * testFraction);
  const split = {
    train: order.slice(0, nTrain),
    test: order.slice(nTrain, nTrain + nTest),
    validation: order.slice(nTrain + nTest),
  };
  if (split.train.length === 0 || split.validation.length === 0) {
    throw new DataError(
      `${entries.length} entries give ${split.train.length} for training and ${split.validation.length} for validation`,
      'instruction finetuning needs at least one of each: use a larger data set (20 entries or more)',
    );
  }
  return split;
}

/** Tokenizes each entry's training text, remembering the prompt's length (for prompt masking). */
export function encodeInstructions(
  entries: InstructionEntry[],
  style: PromptStyle,
  tokenizer: Tokenizer = createTokenizer(),
): EncodedExample[] {
  // Data is untrusted text: a literal "<|endoftext|>" in it is ordinary text, not the end marker.
  const encode = (text: string) => tokenizer.encode(text, { allowEndOfText: false });
  return entries.map((entry) => ({
    ids: encode(trainingText(style, entry)),
    promptLength: encode(promptText(style, entry)).length,
  }));
}

/** Options of {@link instructionBatches}. */
export interface BatchOptions extends CollateOptions {
  batchSize: number;
  /** Visit examples in a seeded random order (a new one per epoch). @defaultValue false */
  shuffle?: boolean;
  /** The shuffle of epoch e is drawn from deriveSeed(seed, e). @defaultValue 0 */
  seed?: number;
  /** Epoch number (selects the shuffle). @defaultValue 0 */
  epoch?: number;
  /** Drop a last batch smaller than batchSize (the book: true for training only). @defaultValue false */
  dropLast?: boolean;
}

/** Number of batches one epoch of {@link instructionBatches} yields. */
export function batchCount(examples: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(examples / batchSize) : Math.ceil(examples / batchSize);
}

/** One epoch of collated batches (the book's DataLoader with custom_collate_fn). */
export function* instructionBatches(examples: EncodedExample[], options: BatchOptions): Generator<Batch> {
  const { batchSize } = options;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new DataError(`batch size must be an integer >= 1, got ${String(batchSize)}`);
  }
  const order = examples.map((_, i) => i);
  if (options.shuffle) new Rng(deriveSeed(options.seed ?? 0, options.epoch ?? 0)).shuffle(order);
  const batches = batchCount(examples.length, batchSize, options.dropLast);
  for (let k = 0; k < batches; k++) {
    const rows = order.slice(k * batchSize, (k + 1) * batchSize).map((i) => examples[i]);
    yield collateInstructions(rows, options);
  }
}
