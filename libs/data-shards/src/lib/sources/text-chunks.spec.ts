import { createTokenizer } from '@llm-forge/gpt';
import { chunkText, findChunkCut, isSpaceCode, TextChunker } from './text-chunks';

/** A deterministic pseudo-random text with words, numbers, punctuation, runs of spaces and line breaks. */
function messyText(length: number, seed = 1): string {
  const pieces = [
    'the',
    'Whale',
    ' ',
    '  ',
    '\n',
    '\n\n',
    '\n\n\n',
    '\t',
    '1851',
    ',',
    '.',
    "'s",
    "'ll",
    '—',
    'é',
    '😀',
    '<|endoftext|>',
    ' \n ',
    'Ishmael',
    '!!',
    '\u00a0',
    '\r\n',
  ];
  let x = seed;
  let out = '';
  while (out.length < length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += pieces[(x >>> 8) % pieces.length];
  }
  return out;
}

describe('text chunks', () => {
  it('tests whitespace exactly as the tokenizer regex \\s does, for every UTF-16 unit', () => {
    for (let c = 0; c < 0x10000; c++) expect(isSpaceCode(c)).toBe(/\s/u.test(String.fromCharCode(c)));
  });

  it('cuts at a paragraph break, else a line break, else a space, else hard', () => {
    const text = 'aaaa bbbb\ncccc\n\ndddd eeee ffff';
    expect(findChunkCut(text, 20)).toBe(14); // before the blank line
    expect(findChunkCut('aaaa bbbb\ncccc dddd eeee', 16)).toBe(9); // the line break
    expect(findChunkCut('aaaa bbbb cccc dddd', 12)).toBe(9); // the last space
    expect(findChunkCut('abcdefghijklmnop', 8)).toBe(8);
    expect(findChunkCut('abcdefg😀xyz', 8)).toBe(7); // not inside the surrogate pair
  });

  it('gives bounded chunks that concatenate to the text', () => {
    const text = messyText(50_000);
    const chunks = [...chunkText(text, 500)];
    expect(chunks.join('')).toBe(text);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(500);
    expect(chunks.length).toBeGreaterThan(100);
  });

  it('tokenizes chunk by chunk exactly as the whole text', () => {
    const tokenizer = createTokenizer();
    for (const seed of [1, 2, 3]) {
      const text = messyText(20_000, seed);
      const whole = tokenizer.encode(text);
      const pieces = [...chunkText(text, 300)].flatMap((c) => tokenizer.encode(c));
      expect(pieces).toEqual(whole);
    }
  });

  it('chunks streamed text exactly as the whole text, however it arrives', () => {
    const text = messyText(30_000, 7);
    const expected = [...chunkText(text, 1000)];
    for (const block of [1, 7, 999, 1000, 1001, 4096]) {
      const chunker = new TextChunker(1000);
      const got: string[] = [];
      for (let i = 0; i < text.length; i += block) got.push(...chunker.push(text.slice(i, i + block)));
      got.push(...chunker.end());
      expect(got).toEqual(expected);
    }
  });
});
