/** The run record as stored in Redis and returned by the API. */
import type { CreateRunDto } from './dto/create-run.dto';
import type { RunStatus } from './run-state';

/** Where a run stands in its steps. */
export interface RunProgress {
  /** Optimizer steps completed. */
  step: number;
  /** Steps the run will take. */
  totalSteps: number;
  /** Attempt number of the step now scheduled (bumped on resume and retries). */
  attempt: number;
}

/** One step's metrics, as reported by the workers. */
export interface StepMetrics {
  step: number;
  loss: number;
  tokensPerSecond?: number;
  computeMs?: number;
  commMs?: number;
  bytesSent?: number;
}

/** A pretraining run. */
export interface Run {
  id: string;
  name?: string;
  status: RunStatus;
  spec: CreateRunDto;
  progress: RunProgress;
  /** Directory the workers write checkpoints into. */
  checkpointDir: string;
  /** BullMQ id of the step job now pending, if any. */
  stepJobId?: string;
  /** Why the run failed. */
  error?: string;
  createdAt: string;
  updatedAt: string;
}

/** A run with its latest step metrics (GET /runs/:id). */
export interface RunWithMetrics extends Run {
  metrics: StepMetrics[];
}
