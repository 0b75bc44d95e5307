/**
 * Prompt styles: how an instruction example becomes the text a model is trained on and prompted
 * with. Alpaca is the book's ch. 7 format; Phi-3 is its exercise 7.1. More can be registered.
 */
import { ConfigError } from '@llm-forge/gpt';
import type { InstructionEntry } from './instruction-data';

/** A prompt format. The training text is `formatInput(e) + responseHeader + e.output`. */
export interface PromptStyle {
  /** Name used on the command line (`--style`). */
  readonly name: string;
  /** The instruction and optional input, formatted (the book's `format_input`). */
  formatInput(entry: Pick<InstructionEntry, 'instruction' | 'input'>): string;
  /** Text between the formatted input and the response; a prompt ends with it. */
  readonly responseHeader: string;
}

/** The book's Alpaca prompt (`format_input` of ch. 7). */
export const ALPACA_STYLE: PromptStyle = {
  name: 'alpaca',
  formatInput: ({ instruction, input }) =>
    'Below is an instruction that describes a task. ' +
    'Write a response that appropriately completes the request.' +
    `\n\n### Instruction:\n${instruction}` +
    (input ? `\n\n### Input:\n${input}` : ''),
  responseHeader: '\n\n### Response:\n',
};

/** Microsoft's Phi-3 chat prompt (the book's exercise 7.1). */
export const PHI3_STYLE: PromptStyle = {
  name: 'phi3',
  formatInput: ({ instruction, input }) => `<|user|>\n${instruction}` + (input ? `\n${input}` : ''),
  responseHeader: '\n<|assistant|>\n',
};

const registry = new Map<string, PromptStyle>([
  [ALPACA_STYLE.name, ALPACA_STYLE],
  [PHI3_STYLE.name, PHI3_STYLE],
]);

/** Adds a style to the registry (replacing one of the same name). */
export function registerPromptStyle(style: PromptStyle): void {
  registry.set(style.name, style);
}

/** Names of the registered styles. */
export function promptStyleNames(): string[] {
  return [...registry.keys()];
}

/** The registered style called `name`; a ConfigError listing the known names otherwise. */
export function promptStyle(name: string): PromptStyle {
  const style = registry.get(name);
  if (!style) throw new ConfigError('style', name, `one of ${promptStyleNames().join(', ')}`);
  return style;
}

/** The prompt the model completes: the formatted input and the response header. */
export function promptText(style: PromptStyle, entry: InstructionEntry): string {
  return style.formatInput(entry) + style.responseHeader;
}

/** The full training text: prompt and response. */
export function trainingText(style: PromptStyle, entry: InstructionEntry): string {
  return promptText(style, entry) + entry.output;
}
