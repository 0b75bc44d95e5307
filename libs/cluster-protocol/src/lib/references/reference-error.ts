/** A reference to a text, a dataset or a model that does not name something usable. */
export class InputReferenceError extends Error {
  override readonly name = 'InputReferenceError';

  constructor(
    /** The reference as given, e.g. `runs/run-1/latest`. */
    readonly reference: string,
    /** What is wrong, e.g. "does not exist". */
    readonly problem: string,
    /** What to give instead. */
    readonly hint: string,
  ) {
    super(`${reference}: ${problem} (${hint})`);
  }
}
