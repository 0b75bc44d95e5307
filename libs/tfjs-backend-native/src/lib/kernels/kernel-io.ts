/**
 * How a kernel reads its inputs and allocates its outputs on each kind of backend, so that one
 * kernel body serves cpu-like backends (cpu, native: typed arrays in `backend.data`) and wasm
 * (tensors on the wasm heap).
 *
 * Rule for kernel bodies: allocate every output first, then take the input and output views.
 * On wasm an allocation may grow the heap, which detaches views taken before it.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { uninitializedBuffer } from '../backends/tensor-memory-pool';

/** Output dtypes the Forge kernels produce. */
export type OutputDType = 'float32' | 'int32';

/** Typed access to a backend's tensor memory for one kernel call. */
export interface KernelIO {
  /** The float32 values of a tensor (a view where possible; never to be mutated). */
  readF32(t: TensorInfo): Float32Array;
  /** The int32 values of a tensor (a view where possible; never to be mutated). */
  readI32(t: TensorInfo): Int32Array;
  /** Allocates an output tensor of the shape and dtype; its values start undefined (write them all). */
  alloc(shape: number[], dtype: OutputDType): TensorInfo;
  /** The writable float32 memory of an output from {@link KernelIO.alloc}. */
  writeF32(t: TensorInfo): Float32Array;
  /** The writable int32 memory of an output from {@link KernelIO.alloc}. */
  writeI32(t: TensorInfo): Int32Array;
  /** Frees outputs of a kernel call that failed before returning them. */
  release(outputs: TensorInfo[]): void;
}

/**
 * Runs `compute` on freshly allocated outputs and returns them; if it throws, frees them first
 * (they are not yet tracked by the engine, so nothing else would).
 */
export function withOutputs<T extends TensorInfo | TensorInfo[]>(
  io: KernelIO,
  outputs: T,
  compute: () => void,
): T {
  try {
    compute();
  } catch (error) {
    io.release(Array.isArray(outputs) ? outputs : [outputs as TensorInfo]);
    throw error;
  }
  return outputs;
}

/** Builds the {@link KernelIO} of the backend a kernel is called with. */
export type KernelIOFactory = (backend: unknown) => KernelIO;

/** The element count of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function asFloat32(values: unknown): Float32Array {
  if (values instanceof Float32Array) return values;
  if (ArrayBuffer.isView(values) || Array.isArray(values))
    return Float32Array.from(values as ArrayLike<number>);
  throw new TypeError('expected numeric tensor values');
}

function asInt32(values: unknown): Int32Array {
  if (values instanceof Int32Array) return values;
  if (ArrayBuffer.isView(values) || Array.isArray(values))
    return Int32Array.from(values as ArrayLike<number>);
  throw new TypeError('expected numeric tensor values');
}

/**
 * A typed array of `size` elements over `buffer` (from its start). Kernel outputs are not zero-filled
 * first (see {@link uninitializedBuffer}): every kernel writes all of its outputs (the same bodies run
 * on wasm, whose outputs are reused heap), so zero-filling them was a pass over memory for nothing;
 * in a `small` step that is every activation and gradient the kernels make, the 412 MB logits and
 * their gradient among them.
 */
function typedView(dtype: OutputDType, buffer: ArrayBuffer, size: number): Float32Array | Int32Array {
  return dtype === 'int32' ? new Int32Array(buffer, 0, size) : new Float32Array(buffer, 0, size);
}

/** A backend that allocates its kernels' output memory itself (the native backend's pool). */
interface AllocatingBackend {
  allocateBuffer(bytes: number): ArrayBuffer;
}

function allocatesBuffers(backend: unknown): backend is AllocatingBackend {
  return typeof (backend as Partial<AllocatingBackend>).allocateBuffer === 'function';
}

/** {@link KernelIO} of MathBackendCPU and its subclasses (the native backend). */
export function cpuIO(backend: unknown): KernelIO {
  const cpu = backend as MathBackendCPU;
  const values = (t: TensorInfo): unknown => cpu.data.get(t.dataId).values;
  const allocate = allocatesBuffers(backend)
    ? (bytes: number) => backend.allocateBuffer(bytes)
    : uninitializedBuffer;
  return {
    readF32: (t) => asFloat32(values(t)),
    readI32: (t) => asInt32(values(t)),
    alloc: (shape, dtype) => {
      const size = sizeOf(shape);
      return cpu.makeTensorInfo(shape, dtype, typedView(dtype, allocate(size * 4), size));
    },
    writeF32: (t) => values(t) as Float32Array,
    writeI32: (t) => values(t) as Int32Array,
    release: (outputs) => outputs.forEach((t) => cpu.disposeIntermediateTensorInfo(t)),
  };
}

/** The part of the wasm backend (BackendWasm) the kernels use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** {@link KernelIO} of the wasm backend: views of the wasm heap, outputs via makeOutput. */
export function wasmIO(backend: unknown): KernelIO {
  const wasm = backend as WasmBackendLike;
  return {
    readF32: (t) => asFloat32(wasm.typedArrayFromHeap(t)),
    readI32: (t) => asInt32(wasm.typedArrayFromHeap(t)),
    alloc: (shape, dtype) => wasm.makeOutput(shape, dtype),
    writeF32: (t) => wasm.typedArrayFromHeap(t) as Float32Array,
    writeI32: (t) => wasm.typedArrayFromHeap(t) as Int32Array,
    release: (outputs) => outputs.forEach((t) => wasm.disposeData(t.dataId, true)),
  };
}
