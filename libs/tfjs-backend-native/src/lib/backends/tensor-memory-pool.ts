/**
 * Reuse of kernel output memory in the native backend, the way PyTorch's CPU allocator (or
 * tcmalloc under it) keeps freed blocks for the next step.
 *
 * Why: a backend whose tensors are typed arrays frees their memory only when V8's garbage collector
 * finds the arrays unreachable, however promptly tfjs disposes the tensors. A `small` training step
 * allocates gigabytes of activations and gradients that way; the external-memory pressure starts a
 * full mark-compact every ~100 ms (about 25 a step), and on a 2-core machine its concurrent marking
 * threads run on the cores the GEMMs use. With the memory of disposed tensors handed to the next
 * kernel output that fits, a steady training step allocates nothing new.
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
 * How much is kept. A buffer serves requests of its size or somewhat smaller, so memory kept for
 * one size cannot serve much larger or much smaller ones, as malloc's would. By default what is in
 * use and kept together stays within 1.5 times the most ever in use at once (at least 64 MiB), and
 * a buffer nobody asked for while six peaks' worth of memory was handed out is dropped: a training
 * step takes the same buffers again every step, while shapes that keep changing (generation
 * without the KV cache) are not asked for again. Dropped buffers, oldest first, are freed at once
 * where the native addon can detach them, so their memory goes back to malloc instead of waiting
 * for the collector.
 */
import { constants as bufferConstants } from 'buffer';

const BUFFER_MAX_BYTES = bufferConstants.MAX_LENGTH;

/** Buffers smaller than this are left to V8: cheap to allocate, many, and no pressure. */
const MIN_POOLED_BYTES = 64 << 10;

/**
 * A request with no free buffer of its size may take a larger free one up to this many times its
 * size (a view of its start). In a training step this lets the tied head's weight gradient take the
 * memory the logits just freed, so no buffer of its own sits idle through the next forward pass
 * (`gpt2-small`: 147 MiB less at the step's peak).
 */
const BEST_FIT_RATIO = 1.5;

/**
 * A kept buffer is dropped once this many times the peak in use has been handed out since it was
 * kept without a request taking it. A training step hands out the same buffers every step, 1.4–2
 * peaks' worth (`small`, `gpt2-small`), so each is taken again well within that; generation's ever-growing shapes are
 * never asked for again and go after a few tokens.
 */
const STALE_AFTER_PEAKS = 6;

/**
 * By default what is in use and kept together stays within this many times the most ever in use at
 * once: a training step's buffers, all kept, come to 1.02–1.08 times its peak (`gpt2-small`,
 * `small`), since best fit lets sizes share; the rest bounds what shapes that keep changing
 * (generation without the KV cache) can hold.
 */
const DEFAULT_LIMIT_PEAKS = 1.5;

/** The least the pool may keep by default (and the least peak it ages buffers by). */
const MIN_DEFAULT_LIMIT_BYTES = 64 << 20;

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
  /** Bytes handed out so far (new and reused): the clock buffers age by. */
  handedBytes: number;
  /** Kept buffers dropped: beyond the limit, or not asked for in {@link STALE_AFTER_PEAKS} peaks. */
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
  /** Every free buffer, oldest first, with the bytes handed out before it was kept. */
  private readonly freeOrder = new Map<ArrayBuffer, number>();
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
    handedBytes: 0,
    evicted: 0,
  };

  constructor(private readonly options: TensorMemoryPoolOptions = {}) {}

  /**
   * An ArrayBuffer of at least `bytes` bytes whose contents are undefined (write them all): the
   * smallest free one of that size or up to {@link BEST_FIT_RATIO} times larger if the pool has one,
   * else new memory of exactly that size that is not zero-filled.
   */
  allocate(bytes: number): ArrayBuffer {
    if (bytes < MIN_POOLED_BYTES || bytes > BUFFER_MAX_BYTES) return uninitializedBuffer(bytes);
    const size = this.bestFit(bytes);
    if (size !== undefined) {
      const list = this.free.get(size)!;
      const reused = list.pop()!;
      if (list.length === 0) this.free.delete(size);
      this.freeOrder.delete(reused);
      this.stats.pooledBytes -= size;
      this.stats.reused++;
      return this.hand(reused);
    }
    this.stats.allocated++;
    return this.hand(uninitializedBuffer(bytes));
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

  /** The smallest size of free buffer that can serve `bytes`, if any. */
  private bestFit(bytes: number): number | undefined {
    if (this.free.has(bytes)) return bytes;
    let best: number | undefined;
    for (const size of this.free.keys()) {
      if (size > bytes && size <= bytes * BEST_FIT_RATIO && (best === undefined || size < best)) best = size;
    }
    return best;
  }

  /** Marks a buffer as handed out (no data entry holds it yet), and drops buffers kept too long. */
  private hand(buffer: ArrayBuffer): ArrayBuffer {
    this.owners.set(buffer, 0);
    this.stats.handedBytes += buffer.byteLength;
    this.dropStale();
    this.stats.inUseBytes += buffer.byteLength;
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return buffer;
  }

  /**
   * Drops the buffers kept while more than {@link STALE_AFTER_PEAKS} peaks' worth of memory was
   * handed out: no request of theirs came in all that time.
   */
  private dropStale(): void {
    const maxAge = STALE_AFTER_PEAKS * Math.max(MIN_DEFAULT_LIMIT_BYTES, this.stats.peakInUseBytes);
    for (const [oldest, keptAt] of this.freeOrder) {
      if (this.stats.handedBytes - keptAt <= maxAge) return;
      this.evict(oldest);
    }
  }

  private limit(): number {
    const { peakInUseBytes, inUseBytes } = this.stats;
    const footprint = Math.max(MIN_DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_PEAKS * peakInUseBytes);
    return this.options.maxPooledBytes ?? footprint - inUseBytes;
  }

  private keep(buffer: ArrayBuffer): void {
    const bytes = buffer.byteLength;
    const list = this.free.get(bytes);
    if (list) list.push(buffer);
    else this.free.set(bytes, [buffer]);
    this.freeOrder.set(buffer, this.stats.handedBytes);
    this.stats.pooledBytes += bytes;
    while (this.stats.pooledBytes > this.limit()) this.evictOldest();
  }

  private evictOldest(): void {
    this.evict(this.freeOrder.keys().next().value as ArrayBuffer);
  }

  private evict(oldest: ArrayBuffer): void {
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

/**
 * New memory of `bytes` bytes that is not zero-filled first (Node's `Buffer.allocUnsafeSlow`: malloc
 * where `new ArrayBuffer` callocs), for outputs a kernel writes in full. Beyond a Buffer's largest
 * size (4 GiB in Node 20) an ArrayBuffer of its own still works.
 */
export function uninitializedBuffer(bytes: number): ArrayBuffer {
  if (bytes > BUFFER_MAX_BYTES) return new ArrayBuffer(bytes);
  return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

function pooledBufferOf(values: unknown): ArrayBuffer | undefined {
  if (!ArrayBuffer.isView(values)) return undefined;
  const buffer = values.buffer;
  return buffer instanceof ArrayBuffer && buffer.byteLength >= MIN_POOLED_BYTES ? buffer : undefined;
}
