/**
 * The book's `custom_collate_fn` (ch. 7): each example gets one end-of-text token, rows are padded
 * with it to the longest, targets are inputs shifted by one, every padding target after the first
 * is replaced by the ignore index, then rows are cut to an allowed maximum length. Optionally the
 * prompt's targets are ignored too (exercise 7.2), so only the response carries loss.
 *
 * B = batch size, T = padded length (longest example + 1 - 1, or the allowed maximum).
 */
import { END_OF_TEXT_ID, IGNORE_INDEX, type Batch } from '@llm-forge/gpt';

/** One tokenized example: the full text's ids and how many of them are the prompt. */
export interface EncodedExample {
  ids: number[];
  /** Tokens of the prompt (formatted input and response header) at the start of `ids`. */
  promptLength: number;
}

/** Options of {@link collateInstructions}. */
export interface CollateOptions {
  /** Token appended once and used for padding. @defaultValue 50256 */
  padId?: number;
  /** Target value that carries no loss. @defaultValue -100 */
  ignoreIndex?: number;
  /** Cut rows to at most this many tokens (the book's allowed_max_length). */
  allowedMaxLength?: number;
  /** Ignore the targets that predict prompt tokens, so only the response is learned. @defaultValue false */
  maskPrompt?: boolean;
}

/** Collates examples (or plain id lists) into one padded batch exactly as the book does. */
export function collateInstructions(
  examples: Array<EncodedExample | number[]>,
  options: CollateOptions = {},
): Batch {
  const padId = options.padId ?? END_OF_TEXT_ID;
  const ignoreIndex = options.ignoreIndex ?? IGNORE_INDEX;
  const items = examples.map((e) => (Array.isArray(e) ? { ids: e, promptLength: 0 } : e));
  if (items.length === 0) throw new RangeError('cannot collate an empty batch');
  const longest = Math.max(...items.map((e) => e.ids.length + 1)); // + the end-of-text token
  const T = Math.min(longest - 1, options.allowedMaxLength ?? Infinity);
  if (!(T >= 1)) throw new RangeError(`a batch needs at least one token per row, got length ${T}`);
  const B = items.length;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  items.forEach((item, b) => {
    const padded = new Array<number>(longest).fill(padId);
    item.ids.forEach((id, t) => (padded[t] = id)); // ids, one end-of-text, padding
    let seenPad = false;
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = padded[t];
      let target = padded[t + 1];
      // The book masks every target equal to the pad id after the first one in the row.
      if (target === padId) {
        if (seenPad) target = ignoreIndex;
        seenPad = true;
      }
      if (options.maskPrompt && t < item.promptLength - 1) target = ignoreIndex;
      targets[b * T + t] = target;
    }
  });
  return { inputs, targets, batchSize: B, contextLength: T };
}
