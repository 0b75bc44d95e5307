import { attentionBackward, attentionForward } from './attention-js';
import { crossEntropyBackward, crossEntropyForward } from './cross-entropy-js';
import { dropout } from './dropout-js';
import type { FusedMath } from './fused-math';
import { geluBackward, geluForward } from './gelu-js';
import { layerNormBackward, layerNormForward } from './layer-norm-js';
import { segmentSum } from './segment-sum-js';

/** The plain-JavaScript {@link FusedMath}, for the cpu and wasm backends (one thread). */
export const jsFusedMath: FusedMath = {
  layerNormForward,
  layerNormBackward,
  geluForward,
  geluBackward,
  dropout,
  attentionForward,
  attentionBackward,
  crossEntropyForward,
  crossEntropyBackward,
  segmentSum,
};
