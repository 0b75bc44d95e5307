/**
 * DiLoCo's outer optimizer (Douillard et al. 2023, arXiv:2311.08105): every rank takes H inner
 * AdamW steps on its own slice of each global batch, then the ranks average their pseudo-gradients
 * Δ = θ_outer − θ_local and take one outer step of SGD with Nesterov momentum (PyTorch's form):
 *
 *   v ← μ·v + Δ̄;   θ_outer ← θ_outer − η·(Δ̄ + μ·v);   θ_local ← θ_outer
 *
 * With one rank, η = 1 and μ = 0 this is plain training: θ_outer becomes θ_local.
 */
import { outerStepAfter } from '@llm-forge/cluster-protocol';

/** DiLoCo settings. */
export interface DilocoOptions {
  /** Inner steps per outer step (H). */
  innerSteps: number;
  /** Outer learning rate η. @defaultValue 0.7 in the run spec (the paper's) */
  outerLr: number;
  /** Outer Nesterov momentum μ. @defaultValue 0.9 in the run spec (the paper's) */
  outerMomentum: number;
  /** The run's last step: an outer step always ends the run, so its model is the outer one. */
  finalStep?: number;
}

/** The outer parameters and momentum of one rank (identical on every rank). */
export class OuterOptimizer {
  /** θ_outer: the parameters after the last outer step. */
  private readonly outer: Float32Array;
  private readonly momentum: Float32Array;
  private applied = 0;

  /**
   * @param params - θ_outer to start from: the parameters of a fresh run, or of a checkpoint (taken
   *   after an outer step, where local and outer parameters are equal).
   * @param momentum - the outer momentum a checkpoint saved; absent: zero (a fresh run).
   */
  constructor(
    params: Float32Array,
    readonly options: DilocoOptions,
    momentum?: Float32Array,
  ) {
    const { innerSteps, outerLr, outerMomentum } = options;
    if (!Number.isInteger(innerSteps) || innerSteps < 1)
      throw new RangeError(`innerSteps must be an integer >= 1, got ${String(innerSteps)}`);
    if (!(outerLr > 0)) throw new RangeError(`outerLr must be positive, got ${String(outerLr)}`);
    if (!(outerMomentum >= 0 && outerMomentum < 1))
      throw new RangeError(`outerMomentum must be in [0, 1), got ${String(outerMomentum)}`);
    this.outer = Float32Array.from(params);
    if (momentum !== undefined && momentum.length !== params.length) {
      throw new RangeError(
        `the outer momentum has ${momentum.length} values, the parameters ${params.length}`,
      );
    }
    this.momentum = momentum ? Float32Array.from(momentum) : new Float32Array(params.length);
  }

  /** The outer momentum v, to save with a checkpoint. */
  get momentumState(): Float32Array {
    return this.momentum;
  }

  /** θ_outer: the parameters after the last outer step (read only). */
  get parameters(): Float32Array {
    return this.outer;
  }

  /** Outer steps this optimizer has applied since it was built. */
  get outerSteps(): number {
    return this.applied;
  }

  /**
   * Whether an outer step follows the inner step that brought the replica to `stepsDone` steps
   * (libs/cluster-protocol's `outerStepAfter`, the rule the coordinator schedules rank jobs by).
   */
  syncsAfter(stepsDone: number): boolean {
    return outerStepAfter(stepsDone, this.options);
  }

  /** Δ = θ_outer − θ_local, this rank's pseudo-gradient (a new buffer, to be averaged over ranks). */
  pseudoGradient(local: Float32Array): Float32Array {
    const delta = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) delta[i] = this.outer[i] - local[i];
    return delta;
  }

  /** The outer step with the averaged pseudo-gradient; writes θ_outer into `local`. */
  apply(meanDelta: Float32Array, local: Float32Array): void {
    const { outerLr: lr, outerMomentum: mu } = this.options;
    for (let i = 0; i < local.length; i++) {
      const v = mu * this.momentum[i] + meanDelta[i];
      this.momentum[i] = v;
      this.outer[i] -= lr * (meanDelta[i] + mu * v);
    }
    local.set(this.outer);
    this.applied++;
  }
}
