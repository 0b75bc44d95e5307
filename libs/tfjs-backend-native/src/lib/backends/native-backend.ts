/**
 * The `native` backend: MathBackendCPU's storage and every cpu kernel, with the hot ones replaced
 * by the addon (OpenBLAS GEMM, element-wise arithmetic, Sum, GatherV2, Softmax, Transpose,
 * UnsortedSegmentSum and the Forge kernels).
 * Tensors are plain typed arrays, so the cpu kernels run unchanged on it.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  findBackendFactory,
  getKernel,
  getKernelsForBackend,
  registerBackend,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import { cpuIO } from '../kernels/kernel-io';
import { fusedKernelConfigs } from '../kernels/fused-kernels';
import { nativeElementwiseConfigs } from '../kernels/native-elementwise-kernels';
import { nativeKernelConfigs } from '../kernels/native-kernels';
import { registerKernelConfigs } from '../kernels/register-kernels';
import { segmentSumKernelConfig } from '../kernels/segment-sum-kernel';
import type { NativeAddon } from '../native/native-addon';
import { registerCpuKernels } from './cpu-kernels';

/** Name of the backend in tfjs's registry. */
export const NATIVE_BACKEND = 'native';

/** MathBackendCPU under its own name, so native kernels can be registered for it alone. */
export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU advertises tfjs-node on first use in Node; this backend is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}

/**
 * Registers the `native` backend (priority 0: it is chosen by initBackend, never by default) and
 * its kernels. Idempotent.
 */
export function registerNativeBackend(addon: NativeAddon): void {
  if (findBackendFactory(NATIVE_BACKEND)) return;
  registerCpuKernels(); // the copies below then carry the JS fixes where no native kernel exists
  registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 0);
  registerKernelConfigs(
    getKernelsForBackend('cpu').map((config) => ({ ...config, backendName: NATIVE_BACKEND })),
  );
  const cpuKernel = (name: string): KernelFunc => {
    const config = getKernel(name, 'cpu');
    if (!config) throw new Error(`native backend: no cpu kernel ${name} to fall back to`);
    return config.kernelFunc;
  };
  registerKernelConfigs([
    ...nativeKernelConfigs(addon, cpuKernel),
    ...nativeElementwiseConfigs(addon, cpuKernel),
    segmentSumKernelConfig(NATIVE_BACKEND, cpuIO, addon),
    ...fusedKernelConfigs(NATIVE_BACKEND, cpuIO, addon),
  ]);
}
