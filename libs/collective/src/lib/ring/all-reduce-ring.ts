import type { AllReduceOptions } from '../options/ring-options';

/** What one all-reduce did. */
export interface AllReduceResult {
  /** Wall time of the call, in milliseconds. */
  elapsedMs: number;
  /** Payload bytes this rank sent to its right neighbour. */
  bytesSent: number;
}

/**
 * A rank's endpoint in a ring all-reduce, on the calling thread ({@link RingAllReduce}) or on a
 * thread of its own ({@link ThreadedRingAllReduce}); trainers depend on this, not on either.
 */
export interface AllReduceRing {
  /** This rank. */
  readonly rank: number;
  /** Number of ranks. */
  readonly worldSize: number;
  /** host:port other ranks reach this rank's collective server at. */
  readonly address: string;
  /** How long an operation waits for its peers unless it says otherwise (milliseconds). */
  readonly timeoutMs: number;
  /** Connects to the right-hand neighbour; `addresses` lists every rank's address in rank order. */
  connect(addresses: readonly string[], timeoutMs?: number): Promise<void>;
  /** Takes a new place (rank, world size, run) for the next ring generation; call connect afterwards. */
  reconfigure(place: { rank: number; worldSize: number; jobId?: string }): void;
  /** Sums (or averages) `buffer` across all ranks in place. */
  allReduce(buffer: Float32Array, options: AllReduceOptions): Promise<AllReduceResult>;
  /** Aborts a running operation and shuts the endpoint down. */
  close(): Promise<void>;
}
