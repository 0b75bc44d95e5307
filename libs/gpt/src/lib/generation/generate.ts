/** Autoregressive generation with context cropping, EOS stop and an optional KV cache. */
import * as tf from '@tensorflow/tfjs-core';
import type { GPTModel } from '../model/gpt-model';
import { KVCache } from '../model/kv-cache';
import { ConfigError } from '../errors/forge-error';
import { Rng } from '../util/rng';
import { sampleToken, validateSampling, type SamplingOptions } from './sampling';

/** Options of {@link generateTokens}. */
export interface GenerateOptions extends SamplingOptions {
  /** Number of tokens to generate at most. */
  maxNewTokens: number;
  /** Stop after producing this token (e.g. 50256, `<|endoftext|>`); it is yielded. */
  eosId?: number;
  /** Seed of the sampler. @defaultValue 0 */
  seed?: number;
  /** Reuse past keys and values instead of recomputing the prefix. @defaultValue true */
  useCache?: boolean;
}

/** Last-position logits of the model for `ids` (one sequence). */
function nextLogits(model: GPTModel, ids: number[], cache?: KVCache): Float32Array {
  const logits = tf.tidy(() => {
    const input = tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32');
    return model.forward(input, { cache, lastPositionOnly: true });
  });
  const row = logits.dataSync() as Float32Array;
  logits.dispose();
  return row;
}

/**
 * Yields new token ids one at a time after `prompt`. The input is cropped to the model's last
 * context-length tokens (the book's `idx[:, -context_size:]`); with the cache, once the window is
 * full the cache is rebuilt from the cropped window.
 */
export function* generateTokens(
  model: GPTModel,
  prompt: number[],
  options: GenerateOptions,
): Generator<number> {
  validateSampling(options);
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 0)) {
    throw new ConfigError('max-new-tokens', options.maxNewTokens, 'a non-negative integer');
  }
  if (prompt.length === 0) throw new ConfigError('prompt', '', 'at least one token');
  const context = model.config.contextLength;
  const rng = new Rng(options.seed ?? 0);
  const cache = options.useCache === false ? undefined : new KVCache(model.config.nLayers);
  const seq = [...prompt];
  try {
    for (let n = 0; n < options.maxNewTokens; n++) {
      let logits: Float32Array;
      if (!cache) logits = nextLogits(model, seq.slice(-context));
      else if (cache.length > 0 && cache.length < context) logits = nextLogits(model, seq.slice(-1), cache);
      else {
        cache.dispose(); // empty, or full: refill from the cropped window
        logits = nextLogits(model, seq.slice(-context), cache);
      }
      const next = sampleToken(logits, options, rng);
      seq.push(next);
      yield next;
      if (next === options.eosId) return;
    }
  } finally {
    cache?.dispose();
  }
}

/** Generates up to `maxNewTokens` tokens after `prompt` and returns them. */
export function generate(model: GPTModel, prompt: number[], options: GenerateOptions): number[] {
  return [...generateTokens(model, prompt, options)];
}
