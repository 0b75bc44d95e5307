/**
 * @llm-forge/tfjs-backend-native: a fast CPU backend for TensorFlow.js (OpenBLAS GEMM and native
 * fused kernels), its wasm/cpu fallback with JavaScript kernels, backend selection, and flat
 * optimizer arithmetic.
 *
 * Importing this module (1) registers tfjs-core's kernel gradients and chained ops when
 * @tensorflow/tfjs has not (tfjs-core's Node bundle has neither), (2) makes tfjs's backprop free
 * each gradient once used (FORGE_BACKPROP, see tfjs-core-extras/eager-backprop.ts), and
 * (3) registers the JavaScript Forge kernels and UnsortedSegmentSum for the `cpu` backend;
 * `initBackend` starts the chosen backend and registers the rest.
 */
import { registerCpuKernels } from './lib/backends/cpu-kernels';
import { completeTfjsCore } from './lib/tfjs-core-extras/complete-tfjs-core';
import { installBackprop } from './lib/tfjs-core-extras/eager-backprop';

completeTfjsCore();
installBackprop();
registerCpuKernels();

export * from './lib/kernel-names';
export {
  adamwStep,
  addInto,
  bf16DecodeSerial,
  bf16EncodeSerial,
  bf16RoundSerial,
  divideSerial,
  RING_KERNEL_EXPORTS,
  RING_KERNEL_MODULE,
  ringKernels,
  type RingKernels,
  scale,
  sumIntoSerial,
  sumOfSquares,
  type AdamWStep,
} from './lib/flat-math';
export { checksum } from './lib/checksum';
export { readValues } from './lib/backends/native-backend';
export {
  initBackend,
  settleHugePages,
  tuneProcessMalloc,
  type BackendChoice,
  type BackendInfo,
  type BackendName,
} from './lib/select-backend';
export { nativeAddonStatus, type HugePagesResult, type NativeAddonStatus } from './lib/native/native-addon';
export { ONE_ARENA_TUNABLE, oneArenaEnv } from './lib/native/heap-pages';
export { BackendError } from './lib/errors/backend-error';
export { completeTfjsCore } from './lib/tfjs-core-extras/complete-tfjs-core';
export { backpropMode, setBackprop, type BackpropMode } from './lib/tfjs-core-extras/eager-backprop';
// Types of the chained ops (x.reshape(...)) that completeTfjsCore adds at run time.
export type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
