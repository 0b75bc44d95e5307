/**
 * The logged points of a finetune job, bounded whatever its length: the training loss every
 * max(1, ceil(totalSteps / 150)) steps and at the last step; evaluations at the end of every
 * max(1, ceil(epochs / 50))-th epoch and of the last, and, with `evalEvery` N > 0, every
 * max(N, ceil(totalSteps / 50)) steps; about 250 points at most.
 */
import type { FinetuneMetric } from '@llm-forge/cluster-protocol';

/** Training-loss points per job (about). */
const LOSS_POINTS = 150;
/** Evaluated epochs per job, and evaluations every N steps per job (about). */
const EVAL_POINTS = 50;

/** The history rank 0 reports and saves with its state. */
export class JobHistory {
  /** Steps between training-loss points. */
  readonly every: number;
  /** Epochs between end-of-epoch evaluations. */
  readonly epochEvalEvery: number;
  /** Steps between evaluations besides those at the ends of epochs; 0: none. */
  readonly stepEvalEvery: number;

  constructor(
    readonly totalSteps: number,
    readonly epochs: number,
    readonly points: FinetuneMetric[] = [],
    evalEvery = 0,
  ) {
    this.every = Math.max(1, Math.ceil(totalSteps / LOSS_POINTS));
    this.epochEvalEvery = Math.max(1, Math.ceil(epochs / EVAL_POINTS));
    this.stepEvalEvery = evalEvery > 0 ? Math.max(evalEvery, Math.ceil(totalSteps / EVAL_POINTS)) : 0;
  }

  /** Whether the loss of step `step` (1-based) is logged. */
  logsStep(step: number): boolean {
    return step % this.every === 0 || step === this.totalSteps;
  }

  /** Whether the end of epoch `epoch` (1-based) is evaluated. */
  evaluatesEpoch(epoch: number): boolean {
    return epoch % this.epochEvalEvery === 0 || epoch === this.epochs;
  }

  /** Whether the model is evaluated after step `step` (1-based) of epochs of `stepsPerEpoch` steps. */
  evaluatesStep(step: number, stepsPerEpoch: number): boolean {
    if (step % stepsPerEpoch === 0 && this.evaluatesEpoch(step / stepsPerEpoch)) return true;
    return this.stepEvalEvery > 0 && step % this.stepEvalEvery === 0;
  }

  /** Appends a point. */
  add(point: FinetuneMetric): void {
    this.points.push(point);
  }

  /** The training losses logged, in step order (tests compare runs with them). */
  losses(): number[] {
    return this.points.map((p) => p.trainLoss);
  }

  /** The points that hold an evaluation, in step order. */
  evaluations(): FinetuneMetric[] {
    return this.points.filter((p) => p.valLoss !== undefined || p.trainEvalLoss !== undefined);
  }
}
