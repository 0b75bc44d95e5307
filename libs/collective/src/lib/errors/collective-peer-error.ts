import { CollectiveError, CollectiveErrorContext, describePeer } from './collective-error';

/**
 * A neighbour failed the operation before the timeout: it is unreachable, closed the
 * connection, aborted the attempt, or rejected a chunk.
 */
export class CollectivePeerError extends CollectiveError {
  /** The gRPC status code the call ended with (`@grpc/grpc-js` `status`), when there was one. */
  readonly code?: number;

  /** @param detail - the peer's status details or the transport error. */
  constructor(context: CollectiveErrorContext & { code?: number }, detail: string, cause?: unknown) {
    super(
      `all-reduce of step ${context.step} attempt ${context.attempt} failed at ${describePeer(context)}: ${detail}`,
      'a peer aborted or went away: retry the step with attempt + 1 on every rank once the ring is whole again',
      context,
      { cause },
    );
    this.code = context.code;
  }
}
