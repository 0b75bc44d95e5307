/**
 * Reuse of kernel output memory in the native backend, the way PyTorch's CPU allocator (or
 * tcmalloc under it) keeps freed blocks for the next step.
 *
 * Why: a backend whose tensors are typed arrays frees their memory only when V8's garbage collector
 * finds the arrays unreachable, however promptly tfjs disposes the tensors. A `small` training step
 * allocates gigabytes of activations and gradients that way; the external-memory pressure starts a
 * full mark-compact every ~100 ms (about 25 a step), and on a 2-core machine its concurrent marking
 * threads run on the cores the GEMMs use. With the memory of disposed tensors handed back to the
 * next kernel output of the same size, a steady training step allocates almost nothing.
 *
 * When memory may be reused. The pool hands out ArrayBuffers and counts, per buffer, the backend's
 * data entries that hold a view of it (a cpu kernel's Slice may return a subarray of its input, so
 * one buffer can back several tensors). A buffer goes back to the pool only when
 *   - the last such entry is deleted (every tensor on it disposed), and
 *   - no view of it has left the backend: `readSync`/`read` (what `dataSync()`, `data()`,
 *     `arraySync()` and `bufferSync()` return) mark the buffer as escaped, and escaped memory is
 *     left to the garbage collector as before, since its reader may keep it after the dispose.
 * Memory the backend did not allocate (arrays given to `tf.tensor`, outputs of the JavaScript cpu
 * kernels) is never pooled.
 *
 * How much is kept. Reuse is by exact size, so memory kept for one size cannot serve another, as
 * malloc's would. By default what is in use and kept together stays within twice the most ever in
 * use at once (and at least 256 MiB may be kept): a training step frees and allocates the same
 * sizes every step, so the buffers of a whole step fit (not all of them are in use at its peak),
 * while shapes that keep changing (generation's growing sequence) cannot grow the pool without
 * bound. Buffers dropped beyond the limit, oldest first, are freed at once where the native addon
 * can detach them, so their memory goes back to malloc instead of waiting for the collector.
 */
import { constants as bufferConstants } from 'buffer';

const BUFFER_MAX_BYTES = bufferConstants.MAX_LENGTH;

/** Buffers smaller than this are left to V8: cheap to allocate, many, and no pressure. */
const MIN_POOLED_BYTES = 64 << 10;

/** The least the pool may keep by default, however small the peak in use. */
const MIN_DEFAULT_LIMIT_BYTES = 256 << 20;

/** Counters of a pool, for tests and profiles. */
export interface TensorMemoryPoolStats {
  /** Allocations served from the pool. */
  reused: number;
  /** Allocations of new memory (pooled sizes only). */
  allocated: number;
  /** Bytes now kept for reuse. */
  pooledBytes: number;
  /** Bytes of the pool's buffers now held by tensors. */
  inUseBytes: number;
  /** The most bytes of the pool's buffers held by tensors at once. */
  peakInUseBytes: number;
  /** Kept buffers dropped to stay within the limit. */
  evicted: number;
}

/** How a pool frees memory and how much it may keep. */
export interface TensorMemoryPoolOptions {
  /** The most memory kept for reuse (default: see the file comment). */
  maxPooledBytes?: number;
  /**
   * Frees a dropped buffer's memory now (the native addon's `detachArrayBuffer`); without it the
   * buffer is left to the garbage collector.
   */
  freeNow?: (buffer: ArrayBuffer) => void;
}

/** Free ArrayBuffers by byte length, and the owners of those in use. */
export class TensorMemoryPool {
  /** Free buffers by byte length. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Every free buffer, oldest first, for dropping the oldest. */
  private readonly freeOrder = new Set<ArrayBuffer>();
  /** Per buffer the pool made: how many data entries hold a view of it. */
  private readonly owners = new WeakMap<ArrayBuffer, number>();
  /** Buffers a view of which has left the backend: never reused. */
  private readonly escaped = new WeakSet<ArrayBuffer>();
  private readonly stats: TensorMemoryPoolStats = {
    reused: 0,
    allocated: 0,
    pooledBytes: 0,
    inUseBytes: 0,
    peakInUseBytes: 0,
    evicted: 0,
  };

  constructor(private readonly options: TensorMemoryPoolOptions = {}) {}

  /**
   * An ArrayBuffer of `bytes` bytes whose contents are undefined (write them all): a free one of that
   * size if the pool has one, else new memory that is not zero-filled.
   */
  allocate(bytes: number): ArrayBuffer {
    if (bytes < MIN_POOLED_BYTES || bytes > BUFFER_MAX_BYTES) return unpooled(bytes);
    const list = this.free.get(bytes);
    const reused = list?.pop();
    if (reused) {
      if (list!.length === 0) this.free.delete(bytes);
      this.freeOrder.delete(reused);
      this.stats.pooledBytes -= bytes;
      this.stats.reused++;
      return this.hand(reused);
    }
    this.stats.allocated++;
    return this.hand(Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer);
  }

  /** Records that a data entry now holds `values` (call when the backend stores them). */
  retain(values: unknown): void {
    const buffer = pooledBufferOf(values);
    if (!buffer) return;
    const count = this.owners.get(buffer);
    if (count !== undefined) this.owners.set(buffer, count + 1);
  }

  /** Records that a data entry holding `values` was deleted; frees the buffer when it was the last. */
  release(values: unknown): void {
    const buffer = pooledBufferOf(values);
    if (!buffer) return;
    const count = this.owners.get(buffer);
    if (count === undefined) return;
    if (count > 1) {
      this.owners.set(buffer, count - 1);
      return;
    }
    this.owners.delete(buffer);
    this.stats.inUseBytes -= buffer.byteLength;
    if (!this.escaped.has(buffer)) this.keep(buffer);
  }

  /** Records that a view of `values` left the backend, so their memory must never be reused. */
  escape(values: unknown): void {
    const buffer = pooledBufferOf(values);
    if (buffer && this.owners.has(buffer)) this.escaped.add(buffer);
  }

  /** Frees every kept buffer. */
  clear(): void {
    while (this.freeOrder.size > 0) this.evictOldest();
  }

  /** A snapshot of the counters. */
  snapshot(): TensorMemoryPoolStats {
    return { ...this.stats };
  }

  /** Marks a buffer as handed out (no data entry holds it yet). */
  private hand(buffer: ArrayBuffer): ArrayBuffer {
    this.owners.set(buffer, 0);
    this.stats.inUseBytes += buffer.byteLength;
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return buffer;
  }

  private limit(): number {
    const { peakInUseBytes, inUseBytes } = this.stats;
    return this.options.maxPooledBytes ?? Math.max(MIN_DEFAULT_LIMIT_BYTES, 2 * peakInUseBytes - inUseBytes);
  }

  private keep(buffer: ArrayBuffer): void {
    const bytes = buffer.byteLength;
    const list = this.free.get(bytes);
    if (list) list.push(buffer);
    else this.free.set(bytes, [buffer]);
    this.freeOrder.add(buffer);
    this.stats.pooledBytes += bytes;
    while (this.stats.pooledBytes > this.limit()) this.evictOldest();
  }

  private evictOldest(): void {
    const oldest = this.freeOrder.values().next().value as ArrayBuffer;
    const bytes = oldest.byteLength;
    this.freeOrder.delete(oldest);
    const list = this.free.get(bytes)!;
    list.splice(list.indexOf(oldest), 1);
    if (list.length === 0) this.free.delete(bytes);
    this.stats.pooledBytes -= bytes;
    this.stats.evicted++;
    this.options.freeNow?.(oldest);
  }
}

/** Memory outside the pool: not zero-filled where a Buffer can hold it. */
function unpooled(bytes: number): ArrayBuffer {
  if (bytes > BUFFER_MAX_BYTES) return new ArrayBuffer(bytes);
  return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

function pooledBufferOf(values: unknown): ArrayBuffer | undefined {
  if (!ArrayBuffer.isView(values)) return undefined;
  const buffer = values.buffer;
  return buffer instanceof ArrayBuffer && buffer.byteLength >= MIN_POOLED_BYTES ? buffer : undefined;
}
