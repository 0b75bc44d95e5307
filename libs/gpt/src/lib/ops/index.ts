export { layerNorm, layerNormComposite } from './layer-norm';
export { gelu, geluComposite } from './gelu';
export { dropout } from './dropout';
export { causalAttention, splitHeads, attendHeads } from './causal-attention';
export type { AttentionOptions } from './causal-attention';
export { crossEntropy, crossEntropyPerRow, crossEntropyPerRowComposite, IGNORE_INDEX } from './cross-entropy';
export { hasFusedKernel } from './fused-kernels';
export { tapAnchor, tapParameter, tapTokenLookup } from './gradient-taps';
export type { GradientTaps } from './gradient-taps';
