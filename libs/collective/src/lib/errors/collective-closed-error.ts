import { CollectiveError, CollectiveErrorContext } from './collective-error';

/** The ring was closed (or never connected) while an operation needed it. */
export class CollectiveClosedError extends CollectiveError {
  /** @param what - what could not be done, e.g. "all-reduce of step 3". */
  constructor(what: string, context: CollectiveErrorContext = {}) {
    super(
      `${what}: the ring is closed or not connected`,
      'call connect() before allReduce() and do not close() during an operation',
      context,
    );
  }
}
