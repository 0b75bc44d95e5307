import type { GPTConfig } from './config';
import { parameterLayout, type ParameterSpec } from './parameter-layout';
import { Rng } from '../util/rng';

// Bound once: inside Jest's sandbox every `Math.*` property read is ~30x slower (see util/rng.ts).
const { sqrt, log, cos, PI } = Math;

/** Standard deviation of GPT-2's weight initialisation. */
const INIT_STD = 0.02;

/** Draws a standard normal sample (Box–Muller) from a uniform source. */
function normal(rng: Rng): number {
  const u = 1 - rng.nextFloat(); // (0, 1]: log stays finite
  return sqrt(-2 * log(u)) * cos(2 * PI * rng.nextFloat());
}

function initStd(spec: ParameterSpec, config: GPTConfig): number {
  // GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) so the residual stream's variance
  // does not grow with depth (nanoGPT: "apply special scaled init to the residual projections").
  return spec.name.endsWith('c_proj.weight') ? INIT_STD / Math.sqrt(2 * config.nLayers) : INIT_STD;
}

/**
 * Fresh GPT-2 parameters as one flat buffer in layout order: weights N(0, 0.02) (residual
 * projections scaled down), biases 0, LayerNorm scale 1 and shift 0. Deterministic in `seed`.
 */
export function initialParameters(config: GPTConfig, seed: number): Float32Array {
  const layout = parameterLayout(config);
  const params = new Float32Array(layout.totalSize);
  const rng = new Rng(seed);
  for (const spec of layout.specs) {
    const view = params.subarray(spec.offset, spec.offset + spec.size);
    if (/ln_\w+\.weight$/.test(spec.name)) view.fill(1);
    else if (spec.name.endsWith('.weight')) {
      const std = initStd(spec, config);
      for (let i = 0; i < view.length; i++) view[i] = normal(rng) * std;
    } // biases stay 0
  }
  return params;
}
