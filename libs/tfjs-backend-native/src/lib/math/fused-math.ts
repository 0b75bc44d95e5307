import type { NativeAddon } from '../native/native-addon';

/**
 * The typed-array maths behind the Forge kernels and segment sum: implemented by the native addon
 * (C++ over OpenBLAS, multi-threaded) and by {@link jsFusedMath} (plain loops, for cpu and wasm).
 * Same positional signatures; outputs are caller-allocated and fully overwritten.
 */
export type FusedMath = Pick<
  NativeAddon,
  | 'layerNormForward'
  | 'layerNormBackward'
  | 'geluForward'
  | 'geluBackward'
  | 'dropout'
  | 'attentionForward'
  | 'attentionBackward'
  | 'crossEntropyForward'
  | 'crossEntropyBackward'
  | 'segmentSum'
>;
