import { ForgeError } from '../errors/forge-error';

/** A dataset that cannot be built as asked (text too short, bad split fraction, no full batch). */
export class DataError extends ForgeError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'DataError';
  }
}
