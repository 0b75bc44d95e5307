/**
 * The `native` backend: MathBackendCPU's storage and every cpu kernel, with the hot ones replaced
 * by the addon (OpenBLAS GEMM, element-wise arithmetic, Sum, GatherV2, Softmax, Transpose,
 * UnsortedSegmentSum and the Forge kernels).
 * Tensors are plain typed arrays, so the cpu kernels run unchanged on it.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  type BackendValues,
  type DataId,
  type DataType,
  backend as currentBackend,
  findBackendFactory,
  getKernel,
  type Tensor,
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
import { TensorMemoryPool, type TensorMemoryPoolStats } from './tensor-memory-pool';

/** Name of the backend in tfjs's registry. */
export const NATIVE_BACKEND = 'native';

/**
 * MathBackendCPU under its own name, so native kernels can be registered for it alone, with the
 * memory of disposed kernel outputs reused (see tensor-memory-pool.ts).
 */
export class NativeBackend extends MathBackendCPU {
  private readonly pool: TensorMemoryPool;

  constructor(addon: Pick<NativeAddon, 'detachArrayBuffer'>) {
    super();
    this.pool = new TensorMemoryPool({
      maxPooledBytes: maxPooledBytes(),
      freeNow: addon.detachArrayBuffer && ((buffer) => addon.detachArrayBuffer!(buffer)),
    });
    // MathBackendCPU advertises tfjs-node on first use in Node; this backend is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** Memory for a kernel output of at least `bytes` bytes, its values undefined (the kernel writes them). */
  allocateBuffer(bytes: number): ArrayBuffer {
    return this.pool.allocate(bytes);
  }

  /** Counters of the output memory pool. */
  memoryPoolStats(): TensorMemoryPoolStats {
    return this.pool.snapshot();
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = super.write(values, shape, dtype);
    this.pool.retain(values);
    return dataId;
  }

  override move(
    dataId: DataId,
    values: BackendValues,
    shape: number[],
    dtype: DataType,
    refCount: number,
  ): void {
    const replaced = storedValues(this, dataId);
    super.move(dataId, values, shape, dtype, refCount);
    this.pool.retain(values);
    this.pool.release(replaced);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = storedValues(this, dataId);
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.release(values);
    return released;
  }

  override readSync(dataId: DataId): BackendValues {
    this.pool.escape(storedValues(this, dataId));
    return super.readSync(dataId);
  }

  override dispose(): void {
    super.dispose();
    this.pool.clear();
  }
}

/**
 * Calls `use` with the float32 values of `tensor`, for a read that ends when `use` returns (copying
 * them elsewhere, summing them). On the native backend this is the tensor's own memory, lent without
 * marking it as escaped, so it can be reused for later outputs once the tensor is disposed; `use`
 * must not keep the array. Elsewhere it is `dataSync()`.
 */
export function readValues<T>(tensor: Tensor, use: (values: Float32Array) => T): T {
  const backend = currentBackend();
  const values = backend instanceof NativeBackend ? storedValues(backend, tensor.dataId) : undefined;
  return use(values instanceof Float32Array ? values : (tensor.dataSync() as Float32Array));
}

/** The values a cpu-like backend stores for `dataId`, if it holds it. */
function storedValues(backend: MathBackendCPU, dataId: DataId): BackendValues | undefined {
  return backend.data.has(dataId) ? backend.data.get(dataId).values : undefined;
}

/**
 * FORGE_TENSOR_POOL_MB: the most memory of disposed outputs kept for reuse (0: none; unset: as much
 * as keeps the pool's memory within 1.5 times its peak in use, see TensorMemoryPool).
 */
function maxPooledBytes(): number | undefined {
  const raw = process.env.FORGE_TENSOR_POOL_MB;
  if (raw === undefined || raw === '') return undefined;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new Error(`FORGE_TENSOR_POOL_MB must be a number of MiB >= 0 (got "${raw}")`);
  }
  return mb * (1 << 20);
}

/**
 * Registers the `native` backend (priority 0: it is chosen by initBackend, never by default) and
 * its kernels. Idempotent.
 */
export function registerNativeBackend(addon: NativeAddon): void {
  if (findBackendFactory(NATIVE_BACKEND)) return;
  registerCpuKernels(); // the copies below then carry the JS fixes where no native kernel exists
  registerBackend(NATIVE_BACKEND, () => new NativeBackend(addon), 0);
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
