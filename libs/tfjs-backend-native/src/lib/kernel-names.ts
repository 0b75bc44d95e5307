/**
 * Names and signatures of the fused kernels LLM Forge adds to TensorFlow.js.
 *
 * These are a contract between a backend (which may register fast implementations) and the
 * ops in `@llm-forge/gpt` (which call them when registered and otherwise compose the same maths
 * from tfjs-core ops). Every kernel is pure: it allocates its outputs and never mutates inputs.
 *
 * Legend: N = rows (B*T), C = channels, B = batch, T = time, H = heads, D = head size (C/H),
 * V = vocabulary. All tensors are float32 unless marked int32.
 */

/**
 * LayerNorm over the last axis with scale and shift, biased variance.
 * inputs: x [N, C], gamma [C], beta [C]; attrs: {@link LayerNormAttrs}.
 * outputs: [y [N, C], mean [N], rstd [N]] where rstd = 1 / sqrt(var + epsilon).
 */
export const ForgeLayerNorm = 'ForgeLayerNorm';
/** Attributes of {@link ForgeLayerNorm}. */
export interface LayerNormAttrs {
  epsilon: number;
}
/**
 * Gradient of {@link ForgeLayerNorm}.
 * inputs: dy [N, C], x [N, C], gamma [C], mean [N], rstd [N].
 * outputs: [dx [N, C], dgamma [C], dbeta [C]].
 */
export const ForgeLayerNormGrad = 'ForgeLayerNormGrad';

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * inputs: x [any shape]; outputs: [y, same shape].
 */
export const ForgeGelu = 'ForgeGelu';
/** Gradient of {@link ForgeGelu}. inputs: dy, x (same shape); outputs: [dx]. */
export const ForgeGeluGrad = 'ForgeGeluGrad';

/**
 * Dropout with a counter-based mask: y = x * mask / (1 - rate), where element i (of the flat
 * tensor, taken mod 2^32) is kept iff bits(seed, i) >= floor(rate * 2^32). With the seed's words
 * lo = seed mod 2^32, hi = floor(seed / 2^32) mod 2^32 and mix = MurmurHash3's fmix32:
 *   k1 = mix(lo ^ mix(hi + 0x9e3779b9)), k2 = mix(k1 + 0x6a09e667),
 *   bits(seed, i) = mix(mix(i * 0x9e3779b9 ^ k1) + k2)   (arithmetic mod 2^32),
 * and the scale 1 / (1 - rate) rounded to float32 once. A mask is a pure function of (seed, rate,
 * shape): the same on every backend and thread count, and drawn again rather than stored.
 * inputs: x [any shape]; attrs: {@link DropoutAttrs}; outputs: [y, same shape].
 * The gradient is the same kernel applied to dy with the same attrs.
 */
export const ForgeDropout = 'ForgeDropout';
/** Attributes of {@link ForgeDropout}. */
export interface DropoutAttrs {
  /** Probability of dropping an element, in [0, 1); 0 is the identity. */
  rate: number;
  /** The mask's seed, a safe integer. */
  seed: number;
}

/**
 * Causal multi-head self-attention core, from the fused projection to the merged heads.
 * inputs: qkv [B, T, 3C] laid out as [q | k | v] along the last axis, head h owning
 * columns h*D .. (h+1)*D of each part; attrs: {@link CausalAttentionAttrs}.
 * outputs: [y [B, T, C], probs [B, H, T, T]] where
 *   probs[b,h,i,:] = softmax_j<=i (q_i . k_j / sqrt(D)) (zero for j > i) and
 *   y[b,i,h*D:(h+1)*D] = sum_j dropout(probs)[b,h,i,j] v_j,
 * dropout being {@link ForgeDropout}'s map with (dropRate, seed) over probs as a flat tensor, i.e. at
 * index ((b H + h) T + i) T + j. probs is the softmax before dropout (its gradient needs it).
 */
export const ForgeCausalAttention = 'ForgeCausalAttention';
/** Attributes of {@link ForgeCausalAttention}. */
export interface CausalAttentionAttrs {
  numHeads: number;
  /** Dropout on the attention weights, in [0, 1). @defaultValue 0 (none: the kernel as before) */
  dropRate?: number;
  /** Seed of that dropout's mask, a safe integer; required when dropRate > 0. */
  seed?: number;
}
/**
 * Gradient of {@link ForgeCausalAttention}.
 * inputs: dy [B, T, C], qkv [B, T, 3C], probs [B, H, T, T]; attrs: {@link CausalAttentionAttrs}
 * (those of the forward: the dropout mask is drawn again from the seed).
 * outputs: [dqkv [B, T, 3C]].
 */
export const ForgeCausalAttentionGrad = 'ForgeCausalAttentionGrad';

/**
 * Row-wise softmax cross-entropy with integer labels.
 * inputs: logits [N, V], labels int32 [N]; attrs: {@link SoftmaxCrossEntropyAttrs}.
 * outputs: [losses [N], logsumexp [N]] where losses[n] = logsumexp[n] - logits[n, labels[n]],
 * and losses[n] = 0 where labels[n] == ignoreIndex (logsumexp is still computed).
 * A label outside [0, V) that is not ignoreIndex is an error.
 */
export const ForgeSoftmaxCrossEntropy = 'ForgeSoftmaxCrossEntropy';
/** Attributes of {@link ForgeSoftmaxCrossEntropy} and its gradient. */
export interface SoftmaxCrossEntropyAttrs {
  ignoreIndex: number;
}
/**
 * Gradient of {@link ForgeSoftmaxCrossEntropy}.
 * inputs: dlosses [N], logits [N, V], labels int32 [N], logsumexp [N]; attrs as the forward.
 * outputs: [dlogits [N, V]] = dlosses[n] * (softmax(logits[n]) - onehot(labels[n])), zero rows
 * where labels[n] == ignoreIndex.
 */
export const ForgeSoftmaxCrossEntropyGrad = 'ForgeSoftmaxCrossEntropyGrad';

/** Every fused kernel name, for registration loops and capability checks. */
export const FUSED_KERNEL_NAMES = [
  ForgeLayerNorm,
  ForgeLayerNormGrad,
  ForgeGelu,
  ForgeGeluGrad,
  ForgeDropout,
  ForgeCausalAttention,
  ForgeCausalAttentionGrad,
  ForgeSoftmaxCrossEntropy,
  ForgeSoftmaxCrossEntropyGrad,
] as const;

/**
 * Outputs, by index, that a fused kernel returns only for its own gradient to reuse: layer norm's
 * mean and rstd, attention's probabilities, cross-entropy's logsumexp. Nothing is differentiated
 * through them (each kernel's gradient reads the gradient of its output 0 alone), so backprop makes
 * no zeros for them: for attention that would be a [B, H, T, T] tensor a layer.
 */
export const SAVED_ONLY_OUTPUTS: Readonly<Record<string, readonly number[]>> = {
  [ForgeLayerNorm]: [1, 2],
  [ForgeCausalAttention]: [1],
  [ForgeSoftmaxCrossEntropy]: [1],
};
