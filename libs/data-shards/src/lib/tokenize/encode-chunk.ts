/**
 * Tokenizing one chunk into uint16 ids, in the calling thread, with `createTokenizer()` of
 * `@llm-forge/gpt`: GPT-2 BPE, a literal `<|endoftext|>` in the text becomes the special token (as in
 * `forge train`), and the first chunk of every document after the first is preceded by it.
 */
import { createTokenizer, END_OF_TEXT_ID, TokenizerError, type Tokenizer } from '@llm-forge/gpt';

let tokenizer: Tokenizer | undefined;

/** Token ids of one chunk, `<|endoftext|>` first when `separatorFirst`. */
export function encodeChunk(text: string, separatorFirst: boolean): Uint16Array {
  tokenizer ??= createTokenizer();
  const ids = tokenizer.encode(text);
  const head = separatorFirst ? 1 : 0;
  const out = new Uint16Array(ids.length + head);
  if (separatorFirst) out[0] = END_OF_TEXT_ID;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] > 0xffff) throw new TokenizerError(`token id ${ids[i]} does not fit a uint16 shard`);
    out[head + i] = ids[i];
  }
  return out;
}
