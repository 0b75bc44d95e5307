/**
 * Optimizer and reduction arithmetic on flat Float32Arrays (parameters, gradients and Adam
 * moments laid out once, see `ParameterLayout` in @llm-forge/gpt). The native addon provides
 * these when it loads; otherwise the JavaScript versions here run. Both compute in the same
 * order so results agree to float32 rounding.
 */

/** Hyperparameters of one AdamW update (PyTorch semantics: decoupled weight decay). */
export interface AdamWStep {
  /** Learning rate for this step. */
  lr: number;
  /** First-moment decay. @defaultValue 0.9 in callers */
  beta1: number;
  /** Second-moment decay. @defaultValue 0.999 in callers */
  beta2: number;
  /** Denominator epsilon. @defaultValue 1e-8 in callers */
  eps: number;
  /** Decoupled weight decay coefficient (0 disables it for this range). */
  weightDecay: number;
  /** 1-based step count, used for bias correction. */
  step: number;
}
