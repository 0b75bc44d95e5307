import { contextFit, contextWarning } from './instruction-fit';

const example = (prompt: number, response: number) => ({
  ids: Array.from({ length: prompt + response }, (_, i) => i),
  promptLength: prompt,
});

describe('instruction examples against the context', () => {
  const examples = [example(40, 10), example(60, 20), example(30, 5)];

  it('counts the examples cut and those whose prompt leaves no room, and suggests a context', () => {
    expect(contextFit(examples, 64)).toEqual({ examples: 3, cut: 1, noRoom: 1, longest: 80, suggested: 128 });
    expect(contextFit(examples, 128)).toMatchObject({ cut: 0, noRoom: 0 });
  });

  it('says what to change: --max-length when the model allows it, else a longer-context model', () => {
    expect(contextWarning(contextFit(examples, 128), 128, 128)).toBeUndefined();
    expect(contextWarning(contextFit(examples, 64), 64, 1024)).toBe(
      'warning: 1 of 3 training examples are longer than the 64-token context and are cut; in 1 the prompt alone leaves under 8 tokens for the response, so expect empty responses; use --max-length 128 (the model allows 1024)',
    );
    expect(contextWarning(contextFit(examples, 64), 64, 64)).toMatch(
      /use a model with a context of at least 128 tokens \(this one has 64; gpt2-small has 1024\)$/,
    );
  });
});
