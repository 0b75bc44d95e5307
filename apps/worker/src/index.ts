/**
 * @llm-forge/worker — a training worker of LLM Forge. For now the data-parallel core: one rank's
 * optimizer step over its batch slice with a ring all-reduce of gradients, and replica checks.
 */
export { DataParallelStep } from './lib/data-parallel/data-parallel-step';
export type {
  DataParallelStepMetrics,
  DataParallelStepOptions,
} from './lib/data-parallel/data-parallel-step';
export { ReplicaDivergenceError } from './lib/errors/replica-divergence-error';
