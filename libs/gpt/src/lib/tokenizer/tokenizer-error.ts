import { ForgeError } from '../errors/forge-error';

/** Text or token ids the tokenizer cannot handle (e.g. an id outside the vocabulary). */
export class TokenizerError extends ForgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'TokenizerError';
  }
}
