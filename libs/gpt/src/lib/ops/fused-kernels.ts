/**
 * Dispatch to the fused kernels of `@llm-forge/tfjs-backend-native` and their gradients.
 *
 * A fused op runs its registered kernel when the active backend has one, and otherwise the
 * composite of tfjs-core ops next to it, so the model runs unchanged on any backend (the native
 * TensorFlow backend has no Forge kernels and takes the composite path). Gradients of the fused
 * kernels are registered here, once, through tfjs's gradient registry.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ForgeCausalAttention,
  ForgeCausalAttentionGrad,
  ForgeDropout,
  ForgeGelu,
  ForgeGeluGrad,
  ForgeLayerNorm,
  ForgeLayerNormGrad,
  ForgeSoftmaxCrossEntropy,
  ForgeSoftmaxCrossEntropyGrad,
} from '@llm-forge/tfjs-backend-native';

/** Whether the active backend registers the fused kernel `name`. */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Runs a registered kernel with tensor inputs and returns its outputs as tensors. */
export function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

function asList(dy: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(dy) ? dy : [dy];
}

let registered = false;

/** Registers the gradients of every fused kernel (idempotent). */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: ForgeLayerNorm,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, mean, rstd] = saved;
      // One kernel call gives all three gradients. It runs here, once, not inside the per-input
      // closures: tfjs runs each closure in its own tidy, which would free the other two parts.
      const [dx, dgamma, dbeta] = runKernel(
        ForgeLayerNormGrad,
        { dy: asList(dy)[0], x, gamma, mean, rstd },
        attrs,
      );
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
  tf.registerGradient({
    kernelName: ForgeGelu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => runKernel(ForgeGeluGrad, { dy: asList(dy)[0], x: saved[0] })[0] }),
  });
  tf.registerGradient({
    kernelName: ForgeDropout,
    // dx = dy * mask / (1 - rate) is the kernel itself on dy: the seed in attrs draws the same mask.
    gradFunc: (dy, _saved, attrs) => ({ x: () => runKernel(ForgeDropout, { x: asList(dy)[0] }, attrs)[0] }),
  });
  tf.registerGradient({
    kernelName: ForgeCausalAttention,
    inputsToSave: ['qkv'],
    outputsToSave: [false, true],
    gradFunc: (dy, saved, attrs) => ({
      qkv: () =>
        runKernel(ForgeCausalAttentionGrad, { dy: asList(dy)[0], qkv: saved[0], probs: saved[1] }, attrs)[0],
    }),
  });
  tf.registerGradient({
    kernelName: ForgeSoftmaxCrossEntropy,
    inputsToSave: ['logits', 'labels'],
    outputsToSave: [false, true],
    gradFunc: (dy, saved, attrs) => {
      const [logits, labels, logsumexp] = saved;
      return {
        logits: () =>
          runKernel(
            ForgeSoftmaxCrossEntropyGrad,
            { dlosses: asList(dy)[0], logits, labels, logsumexp },
            attrs,
          )[0],
        labels: () => tf.zerosLike(labels),
      };
    },
  });
}
