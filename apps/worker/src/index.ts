/**
 * @llm-forge/worker — a training worker of LLM Forge: one data-parallel rank. `main.ts` is the
 * process; the pieces are exported for tests and embedding.
 */
export { DataParallelStep } from './lib/data-parallel/data-parallel-step';
export type {
  DataParallelStepMetrics,
  DataParallelStepOptions,
} from './lib/data-parallel/data-parallel-step';
export { ReplicaDivergenceError } from './lib/errors/replica-divergence-error';
export { TrainingSession, microBatches } from './lib/session/training-session';
export { LATEST_FILE, pruneCheckpoints, saveRunCheckpoint } from './lib/session/run-checkpoints';
export { InProcessExecutor, ThreadExecutor, type StepExecutor } from './lib/compute/step-executor';
export { loadWorkerConfig, type WorkerConfig } from './lib/config/worker-config';
export { WorkerProcess } from './lib/worker-process';
export { WorkerMetrics } from './lib/metrics/worker-metrics';
