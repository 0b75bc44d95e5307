/**
 * How the training loop sums buffers over the ranks of a data-parallel job. The loop depends on this
 * interface only: {@link SINGLE_PROCESS} at world size 1 (no communication at all), a
 * {@link RingCollective} over a worker's gRPC ring, or an in-process one in tests.
 */
import type { WireDType } from '@llm-forge/collective';

/** Which all-reduce of a step a call is (keys must be the same on every rank). */
export type ReducePhase = 'grads' | 'loss' | 'checksum' | 'extra';

/** Options of one {@link GradientCollective.allReduce}. */
export interface ReduceOptions {
  /** Optimizer steps done when the call is made (every rank passes the same). */
  step: number;
  phase: ReducePhase;
  /**
   * Which call of its phase in the step this is, when a phase makes several (the buckets of an
   * overlapped gradient reduction: 0, 1, …, in call order). @defaultValue 0
   */
  part?: number;
  /** Wire encoding (gradients only; everything else travels as f32). @defaultValue 'f32' */
  wireDType?: WireDType;
  /** Overrides the collective's timeout for this call (e.g. waiting for rank 0's state save). */
  timeoutMs?: number;
  /**
   * Time this call waits for its peers beyond its timeout: how far apart ranks that have not met for
   * a while may arrive (DiLoCo's outer step, after H inner steps each rank ran at its own pace).
   */
  graceMs?: number;
}

/** What one all-reduce cost. */
export interface ReduceCost {
  elapsedMs: number;
  /** Payload bytes this rank sent. */
  bytesSent: number;
}

/** Element-wise sums of Float32Arrays over every rank, in place. */
export interface GradientCollective {
  readonly rank: number;
  readonly worldSize: number;
  /**
   * Replaces `values` by their sum over all ranks. Every rank makes the same calls in the same
   * order with buffers of the same length; rejects when a peer fails.
   */
  allReduce(values: Float32Array, options: ReduceOptions): Promise<ReduceCost>;
}

/** Rank 0 of 1: the sum over one rank is the buffer itself, so nothing is sent. */
export const SINGLE_PROCESS: GradientCollective = {
  rank: 0,
  worldSize: 1,
  allReduce: async () => ({ elapsedMs: 0, bytesSent: 0 }),
};
