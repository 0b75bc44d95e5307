/** Keys and values of past positions, per layer, so generation does not recompute the prefix. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * A per-layer cache of attention keys and values [B, H, L, D]. The model appends to it on each
 * forward pass; the caller owns it and must `dispose()` it.
 */
export class KVCache {
  private readonly keys: Array<tf.Tensor4D | undefined>;
  private readonly values: Array<tf.Tensor4D | undefined>;
  /** Number of positions cached. */
  length = 0;

  constructor(readonly nLayers: number) {
    this.keys = new Array(nLayers).fill(undefined);
    this.values = new Array(nLayers).fill(undefined);
  }

  /** Returns the layer's keys and values including `k`, `v` (new positions), and stores them. */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { keys: tf.Tensor4D; values: tf.Tensor4D } {
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    const keys = tf.keep(oldK ? (tf.concat([oldK, k], 2) as tf.Tensor4D) : tf.clone(k)); // (B, H, L, D)
    const values = tf.keep(oldV ? (tf.concat([oldV, v], 2) as tf.Tensor4D) : tf.clone(v));
    oldK?.dispose();
    oldV?.dispose();
    this.keys[layer] = keys;
    this.values[layer] = values;
    return { keys, values };
  }

  /** Frees every cached tensor and empties the cache. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.length = 0;
  }
}
