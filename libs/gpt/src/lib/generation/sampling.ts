import { ConfigError } from '../errors/forge-error';
import type { Rng } from '../util/rng';

/** How the next token is chosen from a row of logits. */
export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); otherwise logits are divided by it. @defaultValue 0 */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
}

/** Checks sampling options; throws a ConfigError naming the bad field. */
export function validateSampling(o: SamplingOptions): SamplingOptions {
  if (o.temperature !== undefined && !(o.temperature >= 0))
    throw new ConfigError('temperature', o.temperature, '>= 0');
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) {
    throw new ConfigError('top-k', o.topK, 'a non-negative integer');
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new ConfigError('top-p', o.topP, 'in (0, 1]');
  return o;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Token ids worth drawing, most likely first: all of them, or those at or above the k-th logit. */
function candidates(logits: Float32Array, topK?: number): number[] {
  let ids = Array.from(logits.keys());
  if (topK && topK < logits.length) {
    // The book's top-k: keep logits >= the k-th largest (ties included). A typed sort is O(V log V) in C++.
    const kth = Float32Array.from(logits).sort()[logits.length - topK];
    ids = ids.filter((id) => logits[id] >= kth);
  }
  return ids;
}

/** Picks the next token id from `logits` [V] (greedy, temperature, top-k, top-p). */
export function sampleToken(logits: Float32Array, options: SamplingOptions, rng: Rng): number {
  const temperature = options.temperature ?? 0;
  if (temperature === 0) return argmax(logits);
  let ids = candidates(logits, options.topK);
  const nucleus = options.topP !== undefined && options.topP < 1;
  if (nucleus) ids.sort((a, b) => logits[b] - logits[a]);
  let max = -Infinity;
  for (const id of ids) max = Math.max(max, logits[id]);
  const weights = ids.map((id) => Math.exp((logits[id] - max) / temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  if (nucleus) {
    // Smallest most-likely prefix whose probability reaches top-p.
    let cumulative = 0;
    let keep = 0;
    while (keep < weights.length && cumulative < (options.topP as number) * total)
      cumulative += weights[keep++];
    ids = ids.slice(0, keep);
    weights.length = keep;
    total = cumulative;
  }
  let r = rng.nextFloat() * total;
  for (let i = 0; i < ids.length; i++) {
    r -= weights[i];
    if (r < 0) return ids[i];
  }
  return ids[ids.length - 1];
}
