/** The run record as stored in Redis and returned by the API. */
import type { RunSpec } from '@llm-forge/cluster-protocol';
import type { RunStatus } from './run-state';

/** Where a run stands in its steps. */
export interface RunProgress {
  /** Optimizer steps completed. */
  step: number;
  /** Steps the run will take. */
  totalSteps: number;
  /** Attempt counter: grows with every (re)formation of the ring (start, retry, resume); never reset. */
  attempt: number;
}

/** One member of the run's current ring, in rank order. */
export interface RunMember {
  workerId: string;
  /** host:port of the worker's collective server. */
  address: string;
  /** The worker's registration session when the ring was formed (a restart changes it). */
  sessionId: string;
}

/** One rank's share of a step. */
export interface WorkerStepMetrics {
  workerId: string;
  rank: number;
  /** Mean loss of the rank's slice. */
  loss: number;
  computeMs: number;
  commMs: number;
  /** Wall time of the rank's job. */
  jobMs: number;
  bytesSent: number;
}

/** One step's metrics, as reported by the workers. */
export interface StepMetrics {
  step: number;
  /** Mean loss over the global batch. */
  loss: number;
  lr?: number;
  gradNorm?: number;
  /** Tokens of the global batch per second of the step's wall time (scheduling included). */
  tokensPerSecond?: number;
  /** Slowest rank's forward + backward. */
  computeMs?: number;
  /** Slowest rank's all-reduce time. */
  commMs?: number;
  /** Bytes all ranks sent on the ring. */
  bytesSent?: number;
  /** Wall time from enqueueing the step to its last rank finishing. */
  stepMs?: number;
  workers?: WorkerStepMetrics[];
}

/** Train and validation loss at a step (rank 0's estimate). */
export interface EvalRecord {
  step: number;
  trainLoss: number;
  valLoss?: number;
}

/** A greedy sample of the model at a step. */
export interface SampleRecord {
  step: number;
  text: string;
}

/** A pretraining run. */
export interface Run {
  id: string;
  name?: string;
  status: RunStatus;
  spec: RunSpec;
  progress: RunProgress;
  /** Directory the workers write checkpoints into. */
  checkpointDir: string;
  /** BullMQ id of the step job now pending, if any. */
  stepJobId?: string;
  /** The ring of the current attempt, in rank order. */
  members?: RunMember[];
  /** Checkpoint the next step attempt loads first (after a rewind or a resume from a checkpoint). */
  resumeFrom?: string;
  /** Epoch milliseconds when the pending step was enqueued. */
  stepStartedAt?: number;
  /** Failed attempts of the current step. */
  retries: number;
  /** Checkpoints found unusable; never resumed from again. */
  badCheckpoints: string[];
  /** Tokens trained on so far. */
  tokensSeen: number;
  /** Newest checkpoint rank 0 reported. */
  lastCheckpoint?: string;
  /** Why the run failed. */
  error?: string;
  createdAt: string;
  updatedAt: string;
}

/** A run with its latest step metrics, evaluations and samples (GET /runs/:id). */
export interface RunWithMetrics extends Run {
  metrics: StepMetrics[];
  evals: EvalRecord[];
  samples: SampleRecord[];
  /** Estimated seconds to the end, from the recent steps' pace; absent until there is one. */
  etaSeconds?: number;
}
