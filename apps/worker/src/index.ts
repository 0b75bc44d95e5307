/**
 * @llm-forge/worker — a training worker of LLM Forge: one data-parallel rank. `main.ts` is the
 * process; the pieces are exported for tests and embedding.
 */
export { TrainingSession } from './lib/session/training-session';
export { InProcessExecutor, ThreadExecutor, type StepExecutor } from './lib/compute/step-executor';
export { loadWorkerConfig, type WorkerConfig } from './lib/config/worker-config';
export { WorkerProcess } from './lib/worker-process';
export { WorkerMetrics } from './lib/metrics/worker-metrics';
