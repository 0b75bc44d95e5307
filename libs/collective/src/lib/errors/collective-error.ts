/** Where in the ring an error happened: the operation and, when known, the peer involved. */
export interface CollectiveErrorContext {
  /** Optimizer step of the operation. */
  step?: number;
  /** Attempt of the step. */
  attempt?: number;
  /** Rank of the peer the error is about. */
  peerRank?: number;
  /** Address (host:port) of that peer. */
  peerAddress?: string;
}

/**
 * Base class of every error `@llm-forge/collective` throws. `hint` says what to check or do;
 * the message already includes it.
 */
export class CollectiveError extends Error {
  /** What to check or do about it. */
  readonly hint: string;
  /** The message without the hint, for nesting in a peer's error. */
  readonly summary: string;
  /** Optimizer step of the failed operation, when there was one. */
  readonly step?: number;
  /** Attempt of the failed operation, when there was one. */
  readonly attempt?: number;
  /** Rank of the peer the error is about, when there is one. */
  readonly peerRank?: number;
  /** Address of that peer. */
  readonly peerAddress?: string;

  /** @param message - what happened; @param hint - what to do about it. */
  constructor(
    message: string,
    hint: string,
    context: CollectiveErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(`${message} (hint: ${hint})`, options);
    this.name = new.target.name;
    this.hint = hint;
    this.summary = message;
    this.step = context.step;
    this.attempt = context.attempt;
    this.peerRank = context.peerRank;
    this.peerAddress = context.peerAddress;
  }
}

/** "rank 2 (127.0.0.1:4000)" for messages. */
export function describePeer(context: CollectiveErrorContext): string {
  return `rank ${context.peerRank ?? '?'}${context.peerAddress ? ` (${context.peerAddress})` : ''}`;
}
