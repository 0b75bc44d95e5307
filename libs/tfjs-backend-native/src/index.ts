/**
 * @llm-forge/tfjs-backend-native: a fast CPU backend for TensorFlow.js (OpenBLAS GEMM and native
 * fused kernels), its wasm/cpu fallback with JavaScript kernels, backend selection, and flat
 * optimizer arithmetic.
 *
 * Importing this module registers the JavaScript Forge kernels and UnsortedSegmentSum for the
 * `cpu` backend; `initBackend` starts the chosen backend and registers the rest.
 */
import { registerCpuKernels } from './lib/backends/cpu-kernels';

registerCpuKernels();

export * from './lib/kernel-names';
export { adamwStep, addInto, scale, sumOfSquares, type AdamWStep } from './lib/flat-math';
export { initBackend, type BackendChoice, type BackendInfo, type BackendName } from './lib/select-backend';
export { nativeAddonStatus, type NativeAddonStatus } from './lib/native/native-addon';
export { BackendError } from './lib/errors/backend-error';
