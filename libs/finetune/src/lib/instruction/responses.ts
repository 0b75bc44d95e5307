/**
 * Responses of a finetuned model to held-out instructions (the book's
 * `instruction-data-with-response.json`): greedy generation from the prompt, stopped at
 * `<|endoftext|>`, the prompt stripped.
 */
import * as fs from 'fs';
import { createTokenizer, DataError, generate, type GPTModel, type Tokenizer } from '@llm-forge/gpt';
import type { InstructionEntry } from './instruction-data';
import { parseJsonRecords, toInstructionEntry } from './instruction-data';
import { promptText, type PromptStyle } from './prompt-style';

/** An entry with the prompt the model saw and what it answered. */
export interface InstructionResponse extends InstructionEntry {
  prompt: string;
  model_response: string;
}

/** Options of {@link generateResponses}. */
export interface ResponseOptions {
  style: PromptStyle;
  /** @defaultValue 256 (the book's) */
  maxNewTokens?: number;
  tokenizer?: Tokenizer;
  /** Called after each response (progress). */
  onResponse?(response: InstructionResponse, index: number): void;
}

/** Generates a response to each entry: greedy, stopped at end-of-text, prompt stripped, trimmed. */
export async function generateResponses(
  model: GPTModel,
  entries: InstructionEntry[],
  options: ResponseOptions,
): Promise<InstructionResponse[]> {
  const tokenizer = options.tokenizer ?? createTokenizer();
  const eos = tokenizer.endOfTextId;
  const responses: InstructionResponse[] = [];
  for (const [i, entry] of entries.entries()) {
    await new Promise((resolve) => setImmediate(resolve));
    const prompt = promptText(options.style, entry);
    const ids = generate(model, tokenizer.encode(prompt, { allowEndOfText: false }), {
      maxNewTokens: options.maxNewTokens ?? 256,
      eosId: eos,
    });
    if (ids[ids.length - 1] === eos) ids.pop();
    const response = { ...entry, prompt, model_response: tokenizer.decode(ids).trim() };
    responses.push(response);
    options.onResponse?.(response, i);
  }
  return responses;
}

/** Writes responses as a pretty JSON array (through a temporary file, so a reader never sees half). */
export function saveResponses(file: string, responses: InstructionResponse[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(responses, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/**
 * Reads a responses file (JSON array or JSON Lines of entries with `model_response`); a DataError
 * names the file and the first bad entry.
 */
export function loadResponses(file: string): InstructionResponse[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new DataError(`cannot read responses file ${file}: ${(error as Error).message}`);
  }
  return parseJsonRecords(text, file).map(({ value, where }) => {
    const entry = toInstructionEntry(value, where, file);
    const record = value as Record<string, unknown>;
    if (typeof record.model_response !== 'string') {
      throw new DataError(
        `${file}: ${where} has no "model_response" string`,
        'pass a responses file written by `forge finetune instruct`',
      );
    }
    const prompt = typeof record.prompt === 'string' ? record.prompt : '';
    return { ...entry, prompt, model_response: record.model_response };
  });
}
