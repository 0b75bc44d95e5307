/** The finetune job record as stored in Redis and returned by the API. */
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  FinetuneSpec,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import type { DrivenJob, JobProgress } from '../jobs/training-job-kind';
import type { RunStatus } from '../runs/run-state';

/** A finetune job has the statuses of a run (`paused` is never entered). */
export type FinetuneStatus = RunStatus;

/** Where a finetune job stands: a job's progress and the epoch of its last step. */
export interface FinetuneProgressView extends JobProgress {
  epoch: number;
}

/**
 * A finetune job (GET /finetunes): the fields the job driver keeps of every training job (ring
 * members, the pending step, the saved state it resumes from, retries, bad states, the error) and
 * the finetune's own.
 */
export interface Finetune extends DrivenJob {
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
  trainableParameters?: number;
  totalParameters?: number;
  /** The finetuned checkpoint, once completed. */
  modelDir?: string;
  updatedAt: string;
}

/** GET /finetunes/:id. */
export interface FinetuneDetail extends Finetune {
  metrics: FinetuneMetric[];
  evaluation?: ClassificationEvaluation | InstructionEvaluation;
}
