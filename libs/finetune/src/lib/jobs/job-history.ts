/**
 * The logged points of a finetune job, bounded whatever its length: the training loss every
 * max(1, ceil(totalSteps / 150)) steps and at the last step, and evaluations at the end of every
 * max(1, ceil(epochs / 50))-th epoch and of the last; about 200 points at most.
 */
import type { FinetuneMetric } from '@llm-forge/cluster-protocol';

/** Training-loss points per job (about). */
const LOSS_POINTS = 150;
/** Evaluated epochs per job (about). */
const EVAL_POINTS = 50;

/** The history rank 0 reports and saves with its state. */
export class JobHistory {
  /** Steps between training-loss points. */
  readonly every: number;
  /** Epochs between evaluations. */
  readonly evalEvery: number;

  constructor(
    readonly totalSteps: number,
    readonly epochs: number,
    readonly points: FinetuneMetric[] = [],
  ) {
    this.every = Math.max(1, Math.ceil(totalSteps / LOSS_POINTS));
    this.evalEvery = Math.max(1, Math.ceil(epochs / EVAL_POINTS));
  }

  /** Whether the loss of step `step` (1-based) is logged. */
  logsStep(step: number): boolean {
    return step % this.every === 0 || step === this.totalSteps;
  }

  /** Whether the end of epoch `epoch` (1-based) is evaluated. */
  evaluatesEpoch(epoch: number): boolean {
    return epoch % this.evalEvery === 0 || epoch === this.epochs;
  }

  /** Appends a point. */
  add(point: FinetuneMetric): void {
    this.points.push(point);
  }

  /** The training losses logged, in step order (tests compare runs with them). */
  losses(): number[] {
    return this.points.map((p) => p.trainLoss);
  }
}
