/** The finetune job record as stored in Redis and returned by the API. */
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  FinetuneSpec,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import type { RunMember } from '../runs/run.model';
import type { RunStatus } from '../runs/run-state';

/** A finetune job has the statuses of a run (`paused` is never entered). */
export type FinetuneStatus = RunStatus;

/** Where a finetune job stands. */
export interface FinetuneProgressView {
  /** Optimizer steps done. */
  step: number;
  /** Steps of the whole job (0 until rank 0 has loaded the data). */
  totalSteps: number;
  epoch: number;
  /** Grows with every (re)formation of the job's ring; never reset. */
  attempt: number;
}

/** A finetune job (GET /finetunes). */
export interface Finetune {
  id: string;
  name?: string;
  kind: FinetuneSpec['kind'];
  status: FinetuneStatus;
  /** The spec as submitted, with `baseCheckpoint` resolved to an absolute directory. */
  spec: FinetuneSpec;
  /** What the user named as the base (e.g. `run-…/step-000200`), for display. */
  baseCheckpoint?: string;
  dataset: string;
  progress: FinetuneProgressView;
  /** Directory of the job's outputs: state/, model/, responses.json. */
  outDir: string;
  /** The ring of the current attempt, in rank order. */
  members?: RunMember[];
  /** BullMQ id of the step job now pending, if any. */
  stepJobId?: string;
  /** Saved state the next step attempt loads first (after a rewind). */
  resumeFrom?: string;
  /** Epoch milliseconds when the pending step was enqueued. */
  stepStartedAt?: number;
  /** Failed attempts of the current step. */
  retries: number;
  /** Saved states found unusable; never resumed from again. */
  badCheckpoints: string[];
  error?: string;
  trainableParameters?: number;
  totalParameters?: number;
  /** The finetuned checkpoint, once completed. */
  modelDir?: string;
  createdAt: string;
  updatedAt: string;
}

/** GET /finetunes/:id. */
export interface FinetuneDetail extends Finetune {
  metrics: FinetuneMetric[];
  evaluation?: ClassificationEvaluation | InstructionEvaluation;
}
