/**
 * The JavaScript fixes for tfjs's `cpu` backend: the Forge kernels as typed-array loops and an
 * UnsortedSegmentSum (the gradient of gather) that is linear in its input rather than the cpu
 * kernel's much slower composite.
 */
import '@tensorflow/tfjs-backend-cpu';
import { cpuIO } from '../kernels/kernel-io';
import { fusedKernelConfigs } from '../kernels/fused-kernels';
import { registerKernelConfigs } from '../kernels/register-kernels';
import { segmentSumKernelConfig } from '../kernels/segment-sum-kernel';
import { jsFusedMath } from '../math/js-fused-math';

let registered = false;

/** Registers the JS Forge kernels and UnsortedSegmentSum for `cpu` (idempotent). */
export function registerCpuKernels(): void {
  if (registered) return;
  registered = true;
  registerKernelConfigs([
    segmentSumKernelConfig('cpu', cpuIO, jsFusedMath),
    ...fusedKernelConfigs('cpu', cpuIO, jsFusedMath),
  ]);
}
