import * as fs from 'fs';
import { describeIfShared, sharedPath } from '@llm-forge/gpt/testing';
import { collateInstructions } from './collate';

/** Rows of a (B, T) row-major batch. */
function rows(values: Int32Array, T: number): number[][] {
  return Array.from({ length: values.length / T }, (_, b) => [...values.subarray(b * T, (b + 1) * T)]);
}

const BOOK_BATCH = [
  [0, 1, 2, 3, 4],
  [5, 6],
  [7, 8, 9],
];

describe('collateInstructions', () => {
  it('pads with 50256, shifts targets and ignores every pad after the first (the book example)', () => {
    const batch = collateInstructions(BOOK_BATCH);
    expect(batch.batchSize).toBe(3);
    expect(batch.contextLength).toBe(5);
    expect(rows(batch.inputs, 5)).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 50256, 50256, 50256],
      [7, 8, 9, 50256, 50256],
    ]);
    expect(rows(batch.targets, 5)).toEqual([
      [1, 2, 3, 4, 50256],
      [6, 50256, -100, -100, -100],
      [8, 9, 50256, -100, -100],
    ]);
  });

  it('truncates after masking to the allowed maximum length', () => {
    const batch = collateInstructions(BOOK_BATCH, { allowedMaxLength: 3 });
    expect(batch.contextLength).toBe(3);
    expect(rows(batch.inputs, 3)).toEqual([
      [0, 1, 2],
      [5, 6, 50256],
      [7, 8, 9],
    ]);
    expect(rows(batch.targets, 3)).toEqual([
      [1, 2, 3],
      [6, 50256, -100],
      [8, 9, 50256],
    ]);
  });

  it('masks the targets that predict prompt tokens when asked', () => {
    // Prompts of 3 and 1 tokens: targets predicting ids 1..2 and nothing are ignored.
    const batch = collateInstructions(
      [
        { ids: [0, 1, 2, 3, 4], promptLength: 3 },
        { ids: [5, 6], promptLength: 1 },
      ],
      { maskPrompt: true },
    );
    expect(rows(batch.targets, 5)).toEqual([
      [-100, -100, 3, 4, 50256],
      [6, 50256, -100, -100, -100],
    ]);
    const unmasked = collateInstructions([{ ids: [0, 1, 2, 3, 4], promptLength: 3 }]);
    expect(rows(unmasked.targets, 5)).toEqual([[1, 2, 3, 4, 50256]]);
  });

  it('honours other pad and ignore values', () => {
    const batch = collateInstructions([[1], [2, 3, 4]], { padId: 0, ignoreIndex: -1 });
    expect(rows(batch.inputs, 3)).toEqual([
      [1, 0, 0],
      [2, 3, 4],
    ]);
    expect(rows(batch.targets, 3)).toEqual([
      [0, -1, -1],
      [3, 4, 0],
    ]);
  });
});

describeIfShared('collateInstructions against SOURCES.md', () => {
  it('gives the inputs and targets the reference lists', () => {
    const text = fs.readFileSync(sharedPath('data', 'SOURCES.md'), 'utf8');
    const match = /inputs (\[\[.*?\]\])\s*->\s*targets (\[\[.*?\]\])/s.exec(text);
    expect(match).not.toBeNull();
    const inputs = JSON.parse(match![1]) as number[][];
    const targets = JSON.parse(match![2]) as number[][];
    // The reference inputs are the padded batch; strip the padding to get the raw examples back.
    const examples = inputs.map((row) => row.filter((id) => id !== 50256));
    const batch = collateInstructions(examples);
    expect(rows(batch.inputs, batch.contextLength)).toEqual(inputs);
    expect(rows(batch.targets, batch.contextLength)).toEqual(targets);
  });
});
