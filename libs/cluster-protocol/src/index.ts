/**
 * @llm-forge/cluster-protocol — what the CLI, the coordinator, the workers and the dashboard agree on:
 * the defaults of pretraining and finetuning, the run spec, the BullMQ queues of the step schedule,
 * the rank job and result payloads (zod schemas, validated on both sides), the names inside a run's
 * checkpoint directory, and how a reference to a text, a dataset or a model is resolved. No tensors:
 * the coordinator imports it without loading the tensor backend.
 */
export { BUILTIN_TEXT, FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS } from './lib/run-defaults';
export {
  MODEL_PRESETS,
  PRESET_CONTEXT_LENGTHS,
  runSpecSchema,
  type RunSpec,
  type RunSpecInput,
} from './lib/run-spec';
export { limitMessage, SPEC_LIMITS } from './lib/spec-limits';
export {
  FAILURE_KINDS,
  JOB_KINDS,
  LOCAL_CLUSTER_SECRET,
  RANK_JOB,
  STEP_JOB,
  STEP_QUEUE,
  WORKER_ID_PATTERN,
  jobAttemptId,
  parsePayload,
  parseRankJob,
  rankJobId,
  rankJobSchema,
  rankQueueName,
  rankResultSchema,
  rankStepReportSchema,
  ringPeerSchema,
  stepJobId,
  stepJobSchema,
  finetuneStepReportSchema,
  type FailureKind,
  type FinetuneRankJobData,
  type FinetuneStepReport,
  type JobKind,
  type RankFailure,
  type RankJobData,
  type RankResult,
  type RankStepReport,
  type RankSuccess,
  type RingPeer,
  type RunRankJobData,
  type StepJobData,
} from './lib/queues';
export { nextOuterStep, outerStepAfter, runJobEnd, type OuterStepCadence } from './lib/job-steps';
export {
  CHECKPOINT_MARKERS,
  FINETUNE_STATE_DIR,
  FINETUNE_STATE_JSON_FILE,
  FINETUNE_STATE_MARKERS,
  FINETUNE_STATE_TENSORS_FILE,
  LATEST_FILE,
  MODEL_CONFIG_FILE,
  MODEL_WEIGHTS_FILE,
  MODEL_WEIGHTS_INDEX_FILE,
  checkpointName,
  parseCheckpointName,
} from './lib/checkpoint-names';
export { listCheckpoints, type CheckpointInfo } from './lib/run-checkpoints';
export * from './lib/references';
export {
  FINETUNE_OPTION_DEFAULTS,
  SPAMASSASSIN_DATASET,
  classificationEvaluationSchema,
  finetuneMetricSchema,
  finetuneSpecSchema,
  instructionEvaluationSchema,
  judgedResponseSchema,
  type ClassificationEvaluation,
  type FinetuneMetric,
  type FinetuneSpec,
  type FinetuneSpecInput,
  type InstructionEvaluation,
} from './lib/finetune-job';
