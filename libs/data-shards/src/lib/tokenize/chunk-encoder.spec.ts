import { createTokenizer, END_OF_TEXT_ID } from '@llm-forge/gpt';
import { createChunkEncoder } from './chunk-encoder';

const TEXTS = [
  'Call me Ishmael. Some years ago—never mind how long precisely—',
  "It's 1851; the whale's 😀 naïve café.\n\n  indented\tline",
  'before<|endoftext|>after <|endoftext|>',
  '',
  ' \n ',
];

describe('chunk encoders', () => {
  it('worker threads tokenize exactly as createTokenizer() of @llm-forge/gpt', async () => {
    const tokenizer = createTokenizer();
    const encoder = createChunkEncoder(2);
    try {
      for (const text of TEXTS) {
        for (const separatorFirst of [false, true]) {
          const expected = [...(separatorFirst ? [END_OF_TEXT_ID] : []), ...tokenizer.encode(text)];
          expect(Array.from(await encoder.encode(text, separatorFirst))).toEqual(expected);
        }
      }
    } finally {
      await encoder.close();
    }
  });

  it('answers every job with its own tokens, whatever order the threads finish in', async () => {
    const texts = Array.from({ length: 60 }, (_, i) => `${'word '.repeat((i * 37) % 500)}document ${i}`);
    const inline = createChunkEncoder(0);
    const pool = createChunkEncoder(3);
    try {
      const expected = await Promise.all(texts.map((t) => inline.encode(t, false)));
      const got = await Promise.all(texts.map((t) => pool.encode(t, false)));
      expect(got.map((g) => Array.from(g))).toEqual(expected.map((e) => Array.from(e)));
    } finally {
      await pool.close();
    }
  });

  it('rejects work after close', async () => {
    const pool = createChunkEncoder(1);
    await pool.close();
    await expect(pool.encode('x', false)).rejects.toThrow(/closed/);
    expect(() => createChunkEncoder(-1)).toThrow(/threads must be an integer >= 0/);
  });
});
