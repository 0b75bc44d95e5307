export { runFinetuneJob, STATE_SAVE_WAIT_MS, trainFinetuneJob } from './finetune-job';
export type { FinetuneJobContext, FinetuneJobOutcome, TrainedJob } from './finetune-job';
export { FinetuneAbortedError } from './finetune-aborted-error';
export { STATE_DIR, STATE_JSON_FILE, STATE_TENSORS_FILE, trainingSpecHash } from './job-state';
export { ClassificationTask } from './classification-task';
export type { ClassificationData, ClassificationOutputs, SplitMetrics } from './classification-task';
export { InstructionTask, RESPONSES_FILE } from './instruction-task';
export type { InstructionData, InstructionOutputs } from './instruction-task';
export type { JobTask, FinishOptions, TaskOutputs, InitialLosses } from './job-task';
