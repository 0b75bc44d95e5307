import * as tf from '@tensorflow/tfjs-core';

/** Runs a registered kernel on the active backend and returns its outputs as a list. */
export function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** Expects fn to leave no tensor behind, in the engine or in the active backend's storage. */
export function expectNoLeak(fn: () => void): void {
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  fn();
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.engine().backend.numDataIds()).toBe(dataIds);
}
