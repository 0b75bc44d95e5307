import { displaySample } from './sample-text';

describe('displaySample', () => {
  it('folds newlines into visible markers, so a sample of blank lines is one short line', () => {
    expect(displaySample('the the\n\n\n\nthe')).toBe('the the ⏎×4 the');
    expect(displaySample('a\nb')).toBe('a ⏎ b');
    expect(displaySample('\n'.repeat(40))).toBe('(only whitespace: 40 characters)');
    expect(displaySample('Every effort moves you')).toBe('Every effort moves you');
  });
});
