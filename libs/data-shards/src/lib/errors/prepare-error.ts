import { ForgeError } from '@llm-forge/gpt';

/**
 * An input or option that `prepare` cannot work with: a missing path, a folder without text
 * files, a malformed JSONL line, an output folder that belongs to something else.
 */
export class PrepareError extends ForgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'PrepareError';
  }
}
