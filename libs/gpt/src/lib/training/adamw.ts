import { adamwStep } from '@llm-forge/tfjs-backend-native';

/** AdamW hyperparameters other than the learning rate (PyTorch defaults, the book's decay). */
export interface AdamWOptions {
  /** @defaultValue 0.9 */
  beta1: number;
  /** @defaultValue 0.999 */
  beta2: number;
  /** @defaultValue 1e-8 */
  eps: number;
  /** Decoupled weight decay, applied to every parameter as in the book. @defaultValue 0.1 */
  weightDecay: number;
}

/** Default AdamW settings: PyTorch's betas and eps with the book's weight decay 0.1. */
export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

/** Serializable optimizer state: the moments over the flat parameter layout and the step count. */
export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
  /** Number of updates applied so far. */
  step: number;
}

/** AdamW over one flat parameter buffer (decoupled weight decay, PyTorch semantics). */
export class AdamW {
  readonly state: AdamWState;

  constructor(
    size: number,
    readonly options: AdamWOptions = DEFAULT_ADAMW,
    state?: AdamWState,
  ) {
    if (state && (state.m.length !== size || state.v.length !== size)) {
      throw new Error(`optimizer state has ${state.m.length} moments for ${size} parameters`);
    }
    this.state = state ?? { m: new Float32Array(size), v: new Float32Array(size), step: 0 };
  }

  /** Applies one update in place to `params` from `grads` at learning rate `lr`. */
  update(params: Float32Array, grads: Float32Array, lr: number): void {
    this.state.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.options;
    adamwStep(params, grads, this.state.m, this.state.v, {
      lr,
      beta1,
      beta2,
      eps,
      weightDecay,
      step: this.state.step,
    });
  }
}
