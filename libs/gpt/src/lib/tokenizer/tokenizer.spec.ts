import * as fs from 'fs';
import { describeIfShared, sharedPath } from '../test-utils/shared-data';
import { createTokenizer, END_OF_TEXT_ID } from './tokenizer';
import { TokenizerError } from './tokenizer-error';

describe('GPT-2 tokenizer', () => {
  const tok = createTokenizer();

  it('encodes the book sample sentences to the book ids', () => {
    expect(tok.encode('Every effort moves you')).toEqual([6109, 3626, 6100, 345]);
    expect(
      tok.encode('Hello, do you like tea? <|endoftext|> In the sunlit terracesof someunknownPlace.'),
    ).toEqual([
      15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 1659, 617, 34680,
      27271, 13,
    ]);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.endOfTextId).toBe(END_OF_TEXT_ID);
  });

  it('encodes <|endoftext|> as plain text when not allowed', () => {
    const ids = tok.encode('a<|endoftext|>b', { allowEndOfText: false });
    expect(ids).not.toContain(50256);
    expect(tok.decode(ids)).toBe('a<|endoftext|>b');
    expect(tok.encode('a<|endoftext|>b')).toContain(50256);
  });

  it('round-trips text, including unicode and the special token', () => {
    const text = 'Héllo wörld — 日本語 🙂 <|endoftext|>  tabs\tand\nnewlines';
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode(Int32Array.from(tok.encode(text)))).toBe(text);
  });

  it('refuses ids outside the vocabulary with a clear error', () => {
    expect(() => tok.decode([1, 50257])).toThrow(TokenizerError);
    expect(() => tok.decode([1, 50257])).toThrow(/token id 50257 at position 1.*\[0, 50257\)/);
    expect(() => tok.decode([-1])).toThrow(/token id -1/);
    expect(() => tok.decode([1.5])).toThrow(/token id 1.5/);
  });

  it('shares one cached encoding', () => {
    const encodingOf = (t: unknown) => (t as { encoding: unknown }).encoding;
    expect(encodingOf(createTokenizer())).toBeDefined();
    expect(encodingOf(createTokenizer())).toBe(encodingOf(createTokenizer()));
  });
});

describeIfShared('GPT-2 tokenizer on the-verdict.txt', () => {
  it('gives 5,145 tokens and round-trips', () => {
    const text = fs.readFileSync(sharedPath('data', 'the-verdict.txt'), 'utf8');
    const tok = createTokenizer();
    const ids = tok.encode(text);
    expect(ids.length).toBe(5145);
    expect(tok.decode(ids)).toBe(text);
  });
});
