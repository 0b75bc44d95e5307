/**
 * Gradient taps: a forward pass that hands each parameter's gradient to the caller the moment
 * backward produces it, instead of tfjs accumulating every parameter gradient and returning them
 * all at the end. What it enables:
 * - the trainer copies each gradient into its flat buffer as it appears (tfjs no longer holds a
 *   second copy of every parameter gradient until backward ends);
 * - a data-parallel step can all-reduce a bucket of gradients while backward continues (overlap);
 * - the token embedding's lookup gradient arrives sparse — the rows of the B·T tokens, not a dense
 *   [V, C] tensor that is almost all zeros.
 *
 * How: the model reads every parameter through a custom-gradient op whose only tape input is one
 * scalar "anchor" variable. Backward reaches each op through the anchor, and the op's gradient
 * function receives dy — the full gradient of that use of the parameter — and passes it on; the
 * anchor's own gradient is a zero. The parameters themselves are never on the tape, so tfjs computes
 * and keeps no gradient of its own for them. Gradient functions run in reverse order of the forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readValues } from '@llm-forge/tfjs-backend-native';

/** Where a tapped forward pass sends its parameter gradients during backward. */
export interface GradientTaps {
  /** The scalar variable every tap hangs on: pass it (alone) to `tf.variableGrads`. */
  readonly anchor: tf.Variable;
  /**
   * The gradient of one use of parameter `name` (the parameter's shape). Every parameter is used
   * once, except a tied `wte.weight`: its output-head use arrives here and its lookup use arrives
   * at {@link tokenLookup}. Read `gradient` now: tfjs frees it after backward.
   */
  parameter(name: string, gradient: tf.Tensor): void;
  /**
   * The gradient [N · C] of the token embeddings looked up for `ids` (N tokens, row-major): row t is
   * to be added to row `ids[t]` of the `wte.weight` gradient.
   */
  tokenLookup(ids: Int32Array, gradient: Float32Array): void;
}

/** What a custom-gradient op receives: here the anchor alone. */
type TapInputs = Array<tf.Tensor | tf.GradSaveFunc>;

/** A fresh anchor for a {@link GradientTaps}. */
export function tapAnchor(): tf.Variable {
  return tf.variable(tf.scalar(0), true, `gradient-tap-anchor-${anchorCount++}`);
}
let anchorCount = 0;

/** `parameter` as a tensor whose gradient goes to `taps.parameter(name, …)`. */
export function tapParameter(parameter: tf.Tensor, name: string, taps: GradientTaps): tf.Tensor {
  const op = tf.customGrad((...inputs: TapInputs) => ({
    // A reshape to the same shape shares the parameter's data: nothing is copied.
    value: tf.reshape(parameter, parameter.shape),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      taps.parameter(name, dy as tf.Tensor);
      return tf.zerosLike(inputs[0] as tf.Tensor);
    },
  }));
  return op(taps.anchor);
}

/**
 * The rows of `table` [V, C] for int32 `ids` (any shape S), [...S, C], with the gradient of the
 * looked-up rows going to `taps.tokenLookup`: the sparse form of the embedding's gradient.
 */
export function tapTokenLookup(table: tf.Tensor2D, ids: tf.Tensor, taps: GradientTaps): tf.Tensor {
  const idValues = Int32Array.from(ids.dataSync()); // copied now: the ids may be freed before backward
  const op = tf.customGrad((...inputs: TapInputs) => ({
    value: tf.gather(table, ids),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      readValues(dy as tf.Tensor, (values) => taps.tokenLookup(idValues, values));
      return tf.zerosLike(inputs[0] as tf.Tensor);
    },
  }));
  return op(taps.anchor);
}
