/** Messages between a worker's main thread and its compute thread. */
import type { RankJobData, RankResult } from '@llm-forge/cluster-protocol';

/** What the compute thread needs to start. */
export interface ComputeThreadConfig {
  workerId: string;
  /** Host the collective server binds to. */
  bindHost: string;
  /** Port of the collective server (0: any free one). */
  port: number;
  /** Shared secret of the ring. */
  secret: string;
  /** Timeout of one all-reduce and of connecting to a neighbour, in milliseconds. */
  collectiveTimeoutMs: number;
}

/** Main thread → compute thread. */
export type ToCompute =
  | { type: 'job'; id: number; job: RankJobData }
  | { type: 'abort'; jobKey: string; reason: string }
  | { type: 'close' };

/** Compute thread → main thread. */
export type FromCompute =
  | { type: 'ready'; port: number; backend: string }
  | { type: 'result'; id: number; result: RankResult; held?: { jobId: string; appliedSteps: number } }
  | { type: 'log'; message: string; fields?: Record<string, unknown> }
  | { type: 'fatal'; error: string };
