/**
 * @llm-forge/cluster-protocol — what the coordinator and the workers agree on: the run spec, the
 * BullMQ queues of the step schedule, and the rank job and result payloads (zod schemas, validated on
 * both sides), plus the checkpoint naming both read.
 */
export { BUILTIN_TEXT, MODEL_PRESETS, runSpecSchema, type RunSpec, type RunSpecInput } from './lib/run-spec';
export {
  FAILURE_KINDS,
  LOCAL_CLUSTER_SECRET,
  RANK_JOB,
  STEP_JOB,
  STEP_QUEUE,
  WORKER_ID_PATTERN,
  parsePayload,
  parseRankJob,
  rankJobId,
  rankJobSchema,
  rankQueueName,
  rankResultSchema,
  ringPeerSchema,
  stepJobId,
  stepJobSchema,
  type FailureKind,
  type RankFailure,
  type RankJobData,
  type RankResult,
  type RankSuccess,
  type RingPeer,
  type StepJobData,
} from './lib/queues';
export { checkpointName, parseCheckpointName } from './lib/checkpoint-names';
export {
  FINETUNE_PARENT_JOB,
  FINETUNE_QUEUE,
  FINETUNE_RANK_JOB,
  SPAMASSASSIN_DATASET,
  classificationEvaluationSchema,
  finetuneJobId,
  finetuneMetricSchema,
  finetuneParentSchema,
  finetuneProgressSchema,
  finetuneRankJobId,
  finetuneRankJobSchema,
  finetuneResultSchema,
  finetuneSpecSchema,
  instructionEvaluationSchema,
  judgedResponseSchema,
  type ClassificationEvaluation,
  type FinetuneMetric,
  type FinetuneParentData,
  type FinetuneProgress,
  type FinetuneRankJobData,
  type FinetuneResult,
  type FinetuneSpec,
  type FinetuneSpecInput,
  type FinetuneSuccess,
  type InstructionEvaluation,
} from './lib/finetune-job';
