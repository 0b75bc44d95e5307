/**
 * Completes a Node process that has @tensorflow/tfjs-core without @tensorflow/tfjs: its CommonJS
 * bundle registers neither the gradients of the built-in kernels (so tf.grad of tf.mul fails with
 * "gradient function not found for Multiply") nor the chained ops (`x.reshape(...)`). Both come
 * from tfjs-core's own files in dist/, evaluated by {@link EsmFileLoader}.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulGradConfig } from './batch-mat-mul-grad';
import { EsmFileLoader, tfjsCoreDistDir } from './esm-file-loader';

let done = false;

function isGradConfig(value: unknown): value is tf.GradConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as tf.GradConfig).kernelName === 'string' &&
    typeof (value as tf.GradConfig).gradFunc === 'function'
  );
}

/**
 * Registers tfjs-core's gradient configs for every kernel that has none (with a broadcast-aware
 * BatchMatMul gradient in place of tfjs's), and its chained ops on tf.Tensor when they are missing. Idempotent; a no-op where @tensorflow/tfjs already did it.
 *
 * @returns the number of gradients and chained ops added.
 */
export function completeTfjsCore(): { gradients: number; chainedOps: number } {
  if (done) return { gradients: 0, chainedOps: 0 };
  done = true;
  const dist = tfjsCoreDistDir();
  const loader = new EsmFileLoader(dist);
  let gradients = 0;
  if (!tf.getGradient(tf.Multiply)) {
    const dir = path.join(dist, 'gradients');
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('_grad.js'))
      .sort()) {
      for (const config of Object.values(loader.load(path.join(dir, file)))) {
        if (isGradConfig(config) && !tf.getGradient(config.kernelName)) {
          tf.registerGradient(config);
          gradients++;
        }
      }
    }
    tf.unregisterGradient(tf.BatchMatMul);
    tf.registerGradient(batchMatMulGradConfig);
  }
  let chainedOps = 0;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  if (typeof proto.reshape !== 'function') {
    const dir = path.join(dist, 'public', 'chained_ops');
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.js') && !f.endsWith('_test.js') && f !== 'register_all_chained_ops.js');
    const before = Object.getOwnPropertyNames(proto).length;
    for (const file of files.sort()) loader.load(path.join(dir, file));
    chainedOps = Object.getOwnPropertyNames(proto).length - before;
  }
  return { gradients, chainedOps };
}
