/**
 * The coordinator's API as the dashboard sees it. The run spec comes from the shared protocol library's
 * browser entry (type-only import: nothing of zod reaches the bundle); the rest mirrors
 * apps/coordinator's models. Optional fields are those a coordinator may not send yet (older versions,
 * runs without workers).
 */
import type { RunSpec, RunSpecInput } from '@llm-forge/cluster-protocol/browser';

export type { RunSpec, RunSpecInput };

/** Every status a run can have (apps/coordinator/src/runs/run-state.ts). */
export const RUN_STATUSES = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
/** A run's status. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Where a run stands in its steps. */
export interface RunProgress {
  step: number;
  totalSteps: number;
  attempt: number;
}

/** A pretraining run (GET /runs). */
export interface Run {
  id: string;
  name?: string;
  status: RunStatus;
  spec: RunSpec;
  progress: RunProgress;
  checkpointDir: string;
  error?: string;
  createdAt: string;
  updatedAt: string;
  tokensSeen?: number;
  etaSeconds?: number;
  /** Newest checkpoint rank 0 reported. */
  lastCheckpoint?: string;
  /** The ring of the current attempt, in rank order (fewer than `spec.workers` when it shrank). */
  members?: { workerId: string }[];
  /** Lowest validation loss so far (null before the first evaluation; absent from older coordinators). */
  bestValLoss?: number | null;
  /** Validation loss of the last evaluation. */
  finalValLoss?: number | null;
  /** Wall time from creation to the end (or to now while unfinished). */
  durationSeconds?: number | null;
  /** Median tokens/s of the recent steps. */
  tokensPerSecond?: number | null;
  tags?: string[];
  notes?: string;
  /** Hidden from the runs list unless archived runs are shown. */
  archived?: boolean;
}

/** PATCH /runs/:id body: the annotations to change. */
export interface RunAnnotationPatch {
  tags?: string[];
  notes?: string;
  archived?: boolean;
}

/** One worker's share of a step. */
export interface WorkerStepMetric {
  workerId: string;
  rank: number;
  computeMs: number;
  commMs: number;
  loss?: number;
  /** Wall time of the rank's job. */
  jobMs?: number;
  bytesSent?: number;
}

/** One optimizer step's metrics. */
export interface StepMetric {
  step: number;
  loss: number;
  lr?: number;
  tokensPerSecond?: number;
  computeMs?: number;
  commMs?: number;
  bytesSent?: number;
  gradNorm?: number;
  /** Wall time from enqueueing the step to its last rank finishing. */
  stepMs?: number;
  workers?: WorkerStepMetric[];
}

/** A validation-loss estimate. */
export interface EvalPoint {
  step: number;
  trainLoss?: number;
  valLoss?: number;
}

/** A sample generation taken during training. */
export interface SamplePoint {
  step: number;
  text: string;
}

/** GET /runs/:id. */
export interface RunDetail extends Run {
  metrics: StepMetric[];
  evals?: EvalPoint[];
  samples?: SamplePoint[];
}

/** POST /runs/:id/resume body. */
export interface ResumeRequest {
  /** Checkpoint folder name to resume from (default: where the run stopped). */
  checkpoint?: string;
}

/** GET /runs/:id/checkpoints item. Older coordinators send `modifiedAt` instead of `createdAt`. */
export interface CheckpointInfo {
  name: string;
  step: number | null;
  complete: boolean;
  latest?: boolean;
  sizeBytes?: number;
  createdAt?: string;
  modifiedAt?: string;
  path?: string;
}

/** GET /workers item. */
export interface WorkerInfo {
  id: string;
  pid: number;
  /** `training` (in a run's ring), `idle`, or `lost` (no recent heartbeat). */
  state: string;
  hostname?: string;
  backend?: string;
  registeredAt?: string;
  address: string;
  /** The job the worker trains in: a run's id, or a finetune's when `kind` is `finetune`. */
  jobId?: string;
  /** CPU of the worker process since its heartbeat before, in percent of one core. */
  cpuPercent?: number;
  /** Resident memory of the worker process, in bytes. */
  rssBytes?: number;
  kind?: 'run' | 'finetune';
  rank?: number;
  lastHeartbeatAt: string;
}

/** Kinds of finetuning (issue 4). */
export type FinetuneKind = 'classification' | 'instruction';

/** Statuses of a finetune job. */
export type FinetuneStatus = RunStatus;

/** Hyperparameters of a finetune job. */
export interface FinetuneHyperparameters {
  epochs: number;
  batchSize: number;
  lr: number;
  maxLength: number;
}

/** POST /finetunes body. */
export interface CreateFinetuneRequest {
  kind: FinetuneKind;
  baseCheckpoint: string;
  dataset: string;
  hyperparameters: FinetuneHyperparameters;
  lora?: { rank: number; alpha: number };
  /** Workers that train it data-parallel (the global batch is split over them). */
  workers?: number;
}

/** Progress of a finetune job. */
export interface FinetuneProgress {
  step: number;
  totalSteps: number;
  epoch?: number;
}

/** GET /finetunes item. */
export interface Finetune {
  id: string;
  name?: string;
  kind: FinetuneKind;
  status: FinetuneStatus;
  baseCheckpoint?: string;
  dataset?: string;
  progress: FinetuneProgress;
  error?: string;
  createdAt?: string;
  updatedAt?: string;
  /** The submitted spec (hyperparameters, train, lora, workers, …; the base checkpoint resolved). */
  spec?: Record<string, unknown> & { baseCheckpoint?: string };
}

/** One logged step of a finetune job. */
export interface FinetuneMetric {
  step: number;
  trainLoss: number;
  valLoss?: number;
  trainAccuracy?: number;
  valAccuracy?: number;
}

/** Evaluation of a classification finetune. */
export interface ClassificationEvaluation {
  /** Accuracy per split, e.g. `{ train: 0.97, validation: 0.95, test: 0.94 }`. */
  accuracy: Record<string, number>;
  /** confusionMatrix[actual][predicted] counts, in the order of `labels`. */
  confusionMatrix: number[][];
  labels: string[];
}

/** One judged answer of an instruction finetune. */
export interface JudgedResponse {
  instruction: string;
  input?: string;
  output: string;
  response: string;
  score?: number;
}

/** Evaluation of an instruction finetune. */
export interface InstructionEvaluation {
  responses: JudgedResponse[];
  averageScore?: number;
}

/** GET /finetunes/:id. */
export interface FinetuneDetail extends Finetune {
  metrics: FinetuneMetric[];
  evaluation?: ClassificationEvaluation | InstructionEvaluation;
}

/**
 * `event: finetune` of GET /events: the job after a change, with the whole logged history
 * (`metrics`) when rank 0 reported progress or the job completed, and `evaluation` on completion.
 */
export interface FinetuneEvent extends Finetune {
  metrics?: FinetuneMetric[];
  evaluation?: ClassificationEvaluation | InstructionEvaluation;
}

/** POST /generate body. */
export interface GenerateRequest {
  /** A checkpoint directory, or `<runId>/<checkpointName>`. */
  checkpoint: string;
  prompt: string;
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
}

/** `event: step` of GET /events. */
export interface StepEvent {
  runId: string;
  metric: StepMetric;
}

/** Error body of the coordinator (`{ statusCode, error, message, issues? }`). */
export interface ApiErrorBody {
  statusCode?: number;
  error?: string;
  message?: string;
  issues?: { field: string; message: string }[];
}

/** Whether an evaluation is a classification one. */
export function isClassificationEvaluation(
  e: ClassificationEvaluation | InstructionEvaluation,
): e is ClassificationEvaluation {
  return 'confusionMatrix' in e;
}
