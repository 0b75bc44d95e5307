/**
 * Which steps one rank job covers, defined once for the workers' loop and the coordinator's
 * schedule. In DDP the ranks meet at every step (the gradients are summed), so a job is one step.
 * In DiLoCo they meet only at outer steps — after every `innerSteps` inner steps and after the run's
 * last step — so a job runs every inner step up to the next outer step: the ranks never wait for
 * each other in between. libs/training's `OuterOptimizer.syncsAfter` is {@link outerStepAfter}, so
 * the outer step a worker takes is the one the coordinator scheduled a job to end at.
 */
import type { RunSpec } from './run-spec';

/** When DiLoCo's outer steps fall. */
export interface OuterStepCadence {
  /** Inner steps per outer step (H). */
  innerSteps: number;
  /** The run's last step: an outer step always ends the run. */
  finalStep?: number;
}

/** Whether an outer step follows the inner step that brought a replica to `stepsDone` steps. */
export function outerStepAfter(stepsDone: number, cadence: OuterStepCadence): boolean {
  return stepsDone % cadence.innerSteps === 0 || stepsDone === cadence.finalStep;
}

/**
 * The step count of the first outer step after `step` applied steps: the next multiple of
 * `innerSteps`, or `finalStep` when that comes first — the smallest s > step with
 * {@link outerStepAfter}(s).
 */
export function nextOuterStep(step: number, cadence: OuterStepCadence): number {
  const { innerSteps: H, finalStep } = cadence;
  const next = (Math.floor(step / H) + 1) * H;
  return finalStep !== undefined && finalStep > step && finalStep < next ? finalStep : next;
}

/**
 * End (exclusive) of the steps a run's rank job starting at `step` covers, [step, end): one step in
 * DDP, every inner step up to the next outer step in DiLoCo.
 */
export function runJobEnd(spec: Pick<RunSpec, 'steps' | 'sync'>, step: number): number {
  if (spec.sync.mode !== 'diloco') return step + 1;
  return nextOuterStep(step, { innerSteps: spec.sync.innerSteps, finalStep: spec.steps });
}
