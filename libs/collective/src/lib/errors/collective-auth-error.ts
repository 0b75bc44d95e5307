import { CollectiveError, CollectiveErrorContext, describePeer } from './collective-error';

/** A peer answered UNAUTHENTICATED: this worker's shared secret differs from the peer's. */
export class CollectiveAuthError extends CollectiveError {
  /** @param detail - the peer's status details. */
  constructor(context: CollectiveErrorContext, detail: string) {
    super(
      `${describePeer(context)} rejected our shared secret: ${detail}`,
      'give every worker of the run the same secret (e.g. the same LLMFORGE_SECRET environment variable)',
      context,
    );
  }
}
