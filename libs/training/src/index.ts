/**
 * The one training loop: a {@link TrainingLoop} takes optimizer steps on a rank's share of the
 * global batch — accumulation, gradient reduction through a {@link GradientCollective} (none at
 * world size 1), clipping, AdamW and the schedule, replica checks, step metrics — for pretraining
 * (`forge train`, a worker's rank jobs) and finetuning (`forge finetune`, finetune jobs) alike.
 */
export { TrainingLoop } from './lib/loop/training-loop';
export type { StepMetrics, TrainingLoopOptions } from './lib/loop/training-loop';
export { rowShare } from './lib/loop/local-share';
export { OuterOptimizer } from './lib/loop/outer-optimizer';
export type { DilocoOptions } from './lib/loop/outer-optimizer';
export { OuterStepMark } from './lib/loop/outer-step-mark';
export type { LocalShare } from './lib/loop/local-share';
export { SINGLE_PROCESS } from './lib/collective/gradient-collective';
export type {
  GradientCollective,
  ReduceCost,
  ReduceOptions,
  ReducePhase,
} from './lib/collective/gradient-collective';
export { RingCollective } from './lib/collective/ring-collective';
export type { RingCollectiveOptions } from './lib/collective/ring-collective';
export { ReplicaDivergenceError } from './lib/errors/replica-divergence-error';
export { freshReplica, replicaFromCheckpoint, withTotalSteps } from './lib/pretraining/replica';
export type { Replica, RunHistory, RunTrainerState } from './lib/pretraining/replica';
export { saveReplica } from './lib/pretraining/run-checkpoints';
export { dataPosition, rankLoader } from './lib/pretraining/pretraining-steps';
export { PretrainingReplica } from './lib/pretraining/pretraining-replica';
export type { PretrainingJobInput } from './lib/pretraining/pretraining-replica';
export type { AfterStepContext, JobReplica, StepReport } from './lib/jobs/job-replica';
export { trainAlone } from './lib/pretraining/train-alone';
export type { TrainAloneEvents, TrainAloneSummary } from './lib/pretraining/train-alone';
