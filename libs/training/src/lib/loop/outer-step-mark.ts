/**
 * The way back to a DiLoCo rank's last outer step, for a job of inner steps that fails part-way (a
 * peer lost at the outer all-reduce, an abort between inner steps). Between outer steps a rank's
 * parameters, AdamW moments and step count are its own; put back to where the job began, the rank
 * holds the run at that outer step again and can re-run the job from memory, with the losses it
 * would have had, instead of rewinding to a checkpoint.
 *
 * At an outer step θ_local = θ_outer, which the {@link OuterOptimizer} keeps until its next outer
 * step, so a mark copies only the AdamW moments (2 × the parameters) and the step count. When the
 * job's outer step was applied before the failure (a checksum comparison or a checkpoint failed
 * after it), the replica is consistent at that later outer step and stays there.
 */
import type { AdamWState, Trainer } from '@llm-forge/gpt';
import type { OuterOptimizer } from './outer-optimizer';

/** A rank's inner state at an outer step, to return to. */
export class OuterStepMark {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private step = -1;
  private outerSteps = 0;

  constructor(
    private readonly trainer: Trainer,
    private readonly outer: OuterOptimizer,
  ) {
    const n = trainer.params.length;
    this.m = new Float32Array(n);
    this.v = new Float32Array(n);
  }

  /**
   * Records the replica as it is now, at an outer step (or a fresh start): false, recording nothing,
   * when it is between outer steps (its parameters are not θ_outer, so it could not come back here).
   */
  take(): boolean {
    const { stepsDone } = this.trainer;
    this.step = -1;
    if (stepsDone !== 0 && !this.outer.syncsAfter(stepsDone)) return false;
    const { m, v } = this.trainer.optimizer.state;
    this.m.set(m);
    this.v.set(v);
    this.step = stepsDone;
    this.outerSteps = this.outer.outerSteps;
    return true;
  }

  /**
   * Puts the replica back at the last outer step it completed: the one {@link take} recorded, or a
   * later one it applied since. False when nothing was recorded (the replica is then unusable).
   */
  rollBack(): boolean {
    if (this.step < 0) return false;
    if (this.outer.outerSteps > this.outerSteps) return true; // at the outer step it applied last
    const state: AdamWState = { m: this.m, v: this.v, step: this.step };
    this.trainer.restore(this.outer.parameters, state);
    return true;
  }
}
