import { createTokenizer } from '@llm-forge/gpt';
import { describeIfShared, sharedPath } from '@llm-forge/gpt/testing';
import { loadInstructionData, type InstructionEntry } from './instruction-data';
import {
  batchCount,
  encodeInstructions,
  instructionBatches,
  splitInstructionData,
} from './instruction-dataset';
import { ALPACA_STYLE, PHI3_STYLE, promptText } from './prompt-style';

const entries: InstructionEntry[] = Array.from({ length: 20 }, (_, i) => ({
  instruction: `Repeat the number ${i}.`,
  input: i % 2 ? `${i}` : '',
  output: `${i}`,
}));

describe('splitInstructionData', () => {
  it('splits 85 / 10 / 5 as the book (train, test, then validation), after a seeded shuffle', () => {
    const split = splitInstructionData(entries, { seed: 1 });
    expect([split.train.length, split.test.length, split.validation.length]).toEqual([17, 2, 1]);
    expect([...split.train, ...split.test, ...split.validation].map((e) => e.output).sort()).toEqual(
      entries.map((e) => e.output).sort(),
    );
    expect(splitInstructionData(entries, { seed: 1 })).toEqual(split);
    expect(splitInstructionData(entries, { seed: 2 }).train).not.toEqual(split.train);
  });

  it('keeps the file order with seed null', () => {
    const split = splitInstructionData(entries, { seed: null });
    expect(split.train).toEqual(entries.slice(0, 17));
    expect(split.test).toEqual(entries.slice(17, 19));
    expect(split.validation).toEqual(entries.slice(19));
  });

  it('refuses data too small for a training and a validation part', () => {
    expect(() => splitInstructionData(entries.slice(0, 1))).toThrow(
      /1 entries give 0 for training and 1 for validation.*at least one of each/,
    );
    expect(splitInstructionData(entries.slice(0, 2)).train).toHaveLength(1);
    expect(() => splitInstructionData(entries, { trainFraction: 0.95, testFraction: 0.1 })).toThrow(
      /train \+ test < 1/,
    );
  });
});

describe('encodeInstructions and instructionBatches', () => {
  const tokenizer = createTokenizer();

  it('encodes the training text and the prompt length, keeping a literal <|endoftext|> as text', () => {
    const entry = { instruction: 'Say <|endoftext|>', input: '', output: 'Done.' };
    const [example] = encodeInstructions([entry], PHI3_STYLE, tokenizer);
    expect(example.ids).not.toContain(50256);
    expect(tokenizer.decode(example.ids)).toBe('<|user|>\nSay <|endoftext|>\n<|assistant|>\nDone.');
    expect(example.ids.slice(0, example.promptLength)).toEqual(
      tokenizer.encode(promptText(PHI3_STYLE, entry), { allowEndOfText: false }),
    );
  });

  it('yields full batches, a seeded order per epoch, and the last partial batch unless dropped', () => {
    const examples = encodeInstructions(entries.slice(0, 7), ALPACA_STYLE, tokenizer);
    expect([...instructionBatches(examples, { batchSize: 3 })].map((b) => b.batchSize)).toEqual([3, 3, 1]);
    expect([...instructionBatches(examples, { batchSize: 3, dropLast: true })]).toHaveLength(2);
    expect(batchCount(7, 3, true)).toBe(2);
    const firstRows = (epoch: number, seed = 5) =>
      [...instructionBatches(examples, { batchSize: 7, shuffle: true, seed, epoch })][0].inputs;
    expect(firstRows(0)).toEqual(firstRows(0));
    expect(firstRows(1)).not.toEqual(firstRows(0));
    expect(() => [...instructionBatches(examples, { batchSize: 0 })]).toThrow(
      'batch size must be an integer >= 1',
    );
  });
});

describeIfShared('the book instruction set', () => {
  const data = loadInstructionData(sharedPath('data', 'instruction-data.json'));

  it('splits into 935 / 55 / 110 like the book', () => {
    const split = splitInstructionData(data, { seed: null });
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([935, 55, 110]);
    expect(split.train[0]).toEqual(data[0]);
  });

  it('tokenizes every prompt as a prefix of its training text (so prompt masking is exact)', () => {
    const tokenizer = createTokenizer();
    for (const style of [ALPACA_STYLE, PHI3_STYLE]) {
      const examples = encodeInstructions(data, style, tokenizer);
      examples.forEach((example, i) => {
        const prompt = tokenizer.encode(promptText(style, data[i]), { allowEndOfText: false });
        expect(example.ids.slice(0, example.promptLength)).toEqual(prompt);
      });
    }
  });
});
