/**
 * GPT-2 byte-pair encoding through js-tiktoken's `gpt2` ranks (the book's `tiktoken.get_encoding("gpt2")`).
 * The encoding is built once per process and cached: parsing the 50,257 ranks takes a few hundred ms.
 */
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { TokenizerError } from './tokenizer-error';

/** The GPT-2 end-of-text marker, a special token. */
export const END_OF_TEXT = '<|endoftext|>';
/** Id of `<|endoftext|>` in GPT-2 BPE. */
export const END_OF_TEXT_ID = 50256;
/** Number of GPT-2 BPE tokens (50,000 merges + 256 bytes + `<|endoftext|>`). */
export const GPT2_VOCAB_SIZE = 50257;

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Encode the literal text `<|endoftext|>` as the special token 50256 (the book's
   * `allowed_special={"<|endoftext|>"}`). When false it is encoded as ordinary text
   * (`<`, `|`, `endoftext`, `|`, `>`), which is the safe choice for untrusted input.
   * @defaultValue true
   */
  allowEndOfText?: boolean;
}

/** A GPT-2 tokenizer: text to token ids and back. */
export interface Tokenizer {
  /** Encodes text into GPT-2 token ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * Decodes token ids into text. Throws a TokenizerError naming the first id that is not an
   * integer in [0, vocabSize). Byte sequences cut inside a UTF-8 character decode to U+FFFD.
   */
  decode(ids: ArrayLike<number>): string;
  /** 50257. */
  readonly vocabSize: number;
  /** 50256, the id of `<|endoftext|>`. */
  readonly endOfTextId: number;
}

let cachedEncoding: Tiktoken | undefined;

function gpt2Encoding(): Tiktoken {
  if (!cachedEncoding) {
    // Only the gpt2 ranks (0.5 MB), not every encoding js-tiktoken bundles. `require` because the
    // subpath is declared through package "exports", which our `moduleResolution: node` types skip.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ranks = require('js-tiktoken/ranks/gpt2') as TiktokenBPE;
    cachedEncoding = new Tiktoken(ranks);
  }
  return cachedEncoding;
}

class Gpt2Tokenizer implements Tokenizer {
  readonly vocabSize = GPT2_VOCAB_SIZE;
  readonly endOfTextId = END_OF_TEXT_ID;

  constructor(private readonly encoding: Tiktoken) {}

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') {
      throw new TokenizerError(`encode expects a string, got ${typeof text}`);
    }
    const allow = options.allowEndOfText ?? true;
    // With allow=false nothing is disallowed either: the marker is tokenized as plain text.
    return allow ? this.encoding.encode(text, [END_OF_TEXT], []) : this.encoding.encode(text, [], []);
  }

  decode(ids: ArrayLike<number>): string {
    const list: number[] = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(
          `cannot decode token id ${String(id)} at position ${i}: GPT-2 ids are integers in [0, ${this.vocabSize})`,
          'the ids come from a model with a different vocabulary, or were corrupted',
        );
      }
      list[i] = id;
    }
    return this.encoding.decode(list);
  }
}

/**
 * Returns the GPT-2 BPE tokenizer. Cheap after the first call: every tokenizer shares one cached
 * encoding.
 */
export function createTokenizer(): Tokenizer {
  return new Gpt2Tokenizer(gpt2Encoding());
}
