import * as fs from 'fs';
import { createTokenizer } from '../tokenizer/tokenizer';
import { describeIfShared, sharedPath } from '../test-utils/shared-data';
import { DataError } from './data-error';
import { splitTrainValidation } from './train-validation-split';

describe('splitTrainValidation', () => {
  it('splits by characters at floor((1 - f) * length)', () => {
    expect(splitTrainValidation('abcdefghij', 0.1)).toEqual({ train: 'abcdefghi', validation: 'j' });
    expect(splitTrainValidation('abcdefghijk', 0.5)).toEqual({ train: 'abcde', validation: 'fghijk' });
  });

  it('counts code points like Python, never splitting a surrogate pair', () => {
    const { train, validation } = splitTrainValidation('🙂🙂🙂🙂', 0.5);
    expect(train).toBe('🙂🙂');
    expect(validation).toBe('🙂🙂');
  });

  it('gives no validation part for fraction 0 and rejects bad fractions', () => {
    expect(splitTrainValidation('abc', 0)).toEqual({ train: 'abc' });
    expect(() => splitTrainValidation('abc', 1)).toThrow(DataError);
    expect(() => splitTrainValidation('abc', -0.1)).toThrow(/valFraction.*-0.1/);
    expect(() => splitTrainValidation('abc', Number.NaN)).toThrow(/valFraction/);
  });
});

describeIfShared('splitTrainValidation on the-verdict.txt', () => {
  it('gives the book 4,612 / 534 tokens at 90/10', () => {
    const text = fs.readFileSync(sharedPath('data', 'the-verdict.txt'), 'utf8');
    const tok = createTokenizer();
    const { train, validation } = splitTrainValidation(text, 0.1);
    expect(tok.encode(train).length).toBe(4612);
    expect(tok.encode(validation ?? '').length).toBe(534);
  });
});
