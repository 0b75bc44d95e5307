export { runFinetuneJob, STATE_SAVE_WAIT_MS, trainFinetuneJob } from './finetune-job';
export type { FinetuneJobContext, FinetuneJobOptions, FinetuneJobOutcome, TrainedJob } from './finetune-job';
export { FinetuneAbortedError } from './finetune-aborted-error';
export { STATE_DIR, STATE_JSON_FILE, STATE_TENSORS_FILE, trainingSpecHash } from './job-state';
export { RESPONSES_FILE as JOB_RESPONSES_FILE } from './instruction-task';
