/**
 * Whether instruction examples fit the context they are trained in. The Alpaca template alone is 29
 * tokens; with the `tiny` preset's 64-token context most prompts leave no room for a response, the
 * responses come out empty, and nothing said why. This measures the examples and says so.
 */
import type { EncodedExample } from '@llm-forge/finetune';

/** Fewest response tokens an example needs to teach anything (and a prompt to leave room for). */
export const MIN_RESPONSE_TOKENS = 8;

/** How the examples fit a context of `context` tokens. */
export interface ContextFit {
  examples: number;
  /** Examples longer than the context (their response is cut). */
  cut: number;
  /** Examples whose prompt leaves fewer than {@link MIN_RESPONSE_TOKENS} tokens for the response. */
  noRoom: number;
  /** The longest example, in tokens. */
  longest: number;
  /** A context that fits every example: the longest, rounded up to a multiple of 64. */
  suggested: number;
}

/** Measures `examples` (prompt + response token ids) against `context`. */
export function contextFit(examples: readonly EncodedExample[], context: number): ContextFit {
  const longest = examples.reduce((m, e) => Math.max(m, e.ids.length), 0);
  return {
    examples: examples.length,
    cut: examples.filter((e) => e.ids.length > context).length,
    noRoom: examples.filter((e) => e.promptLength > context - MIN_RESPONSE_TOKENS).length,
    longest,
    suggested: Math.ceil(longest / 64) * 64,
  };
}

/**
 * A warning when examples do not fit (undefined when they all do): how many, and what to change —
 * a larger --max-length when the model allows it, else a model with a longer context.
 */
export function contextWarning(fit: ContextFit, context: number, modelContext: number): string | undefined {
  if (fit.cut === 0) return undefined;
  const noRoom =
    fit.noRoom > 0
      ? `; in ${fit.noRoom} the prompt alone leaves under ${MIN_RESPONSE_TOKENS} tokens for the response, so expect empty responses`
      : '';
  const fix =
    modelContext >= fit.suggested
      ? `use --max-length ${fit.suggested} (the model allows ${modelContext})`
      : `use a model with a context of at least ${fit.suggested} tokens (this one has ${modelContext}; gpt2-small has 1024)`;
  return `warning: ${fit.cut} of ${fit.examples} training examples are longer than the ${context}-token context and are cut${noRoom}; ${fix}`;
}
