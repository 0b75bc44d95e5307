import * as fs from 'fs';
import { createTokenizer } from '../tokenizer/tokenizer';
import { describeIfShared, sharedPath } from '../test-utils/shared-data';
import { DataError } from './data-error';
import { slidingWindows, windowCount, windowInputs, windowTargets } from './sliding-windows';

/** The book's GPTDatasetV1 loop, written out literally. */
function bookWindows(ids: number[], T: number, S: number): Array<[number[], number[]]> {
  const out: Array<[number[], number[]]> = [];
  for (let i = 0; i < ids.length - T; i += S) out.push([ids.slice(i, i + T), ids.slice(i + 1, i + T + 1)]);
  return out;
}

describe('slidingWindows', () => {
  const ids = Array.from({ length: 23 }, (_, i) => 100 + i);

  it.each([
    [4, 4],
    [4, 1],
    [4, 3],
    [5, 7],
    [22, 1],
    [1, 1],
  ])('matches the book loop for T=%i, S=%i', (T, S) => {
    const w = slidingWindows(ids, T, S);
    const expected = bookWindows(ids, T, S);
    expect(windowCount(w)).toBe(expected.length);
    expected.forEach(([x, y], k) => {
      expect(Array.from(windowInputs(w, k))).toEqual(x);
      expect(Array.from(windowTargets(w, k))).toEqual(y);
    });
  });

  it('shares one id array instead of copying windows', () => {
    const src = Int32Array.from(ids);
    const w = slidingWindows(src, 4, 1);
    expect(w.ids).toBe(src);
    expect(windowInputs(w, 3).buffer).toBe(src.buffer);
  });

  it('says how many tokens the text has and needs when too short', () => {
    expect(() => slidingWindows(ids, 23, 1)).toThrow(DataError);
    expect(() => slidingWindows(ids, 23, 1)).toThrow(/23 tokens.*needs 24.*--context-length \(at most 22\)/);
    expect(() => slidingWindows(ids, 0, 1)).toThrow(/contextLength/);
    expect(() => slidingWindows(ids, 4, 0)).toThrow(/stride/);
  });
});

describeIfShared('slidingWindows on the-verdict.txt', () => {
  it('gives the windows of the book (T=256, S=256 on 5,145 tokens)', () => {
    const ids = createTokenizer().encode(fs.readFileSync(sharedPath('data', 'the-verdict.txt'), 'utf8'));
    const w = slidingWindows(ids, 256, 256);
    expect(windowCount(w)).toBe(bookWindows(ids, 256, 256).length);
    expect(windowCount(w)).toBe(20);
  });
});
