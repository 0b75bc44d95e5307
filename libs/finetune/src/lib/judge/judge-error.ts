import { ForgeError } from '@llm-forge/gpt';

/** The judge endpoint is missing, unreachable, or answered with something other than a chat completion. */
export class JudgeError extends ForgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'JudgeError';
  }
}
