import { CollectiveError } from './collective-error';

/** An option or argument is invalid; the message names the field and the value. */
export class CollectiveConfigError extends CollectiveError {
  /** The option or argument at fault. */
  readonly field: string;

  /** @param field - option name; @param message - what is wrong with its value; @param hint - what to pass instead. */
  constructor(field: string, message: string, hint: string) {
    super(`${field} ${message}`, hint);
    this.field = field;
  }
}
