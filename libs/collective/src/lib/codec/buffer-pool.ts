/** Bytes of free buffers a pool keeps for reuse by default (a few 4 MiB chunks). */
export const DEFAULT_POOLED_BYTES = 32 * 2 ** 20;
/** Pooled buffers are allocated in multiples of this, so messages of slightly different sizes share them. */
const POOL_GRANULE_BYTES = 64 * 1024;

/**
 * Chunk-sized message buffers reused instead of allocated per message. A fresh multi-megabyte
 * buffer per gradient chunk costs page faults on first touch and, through V8's external-memory
 * accounting, a garbage collection every few dozen megabytes: measured as a fifth of a rank's CPU.
 *
 * Each buffer handed out has an `ArrayBuffer` of its own, so any view of it (a payload inside a
 * message) gives it back. A buffer must not be touched by anyone once released; one never released
 * is simply left to the garbage collector.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  private readonly owned = new WeakSet<ArrayBufferLike>();

  /** @param maxPooledBytes - bytes of free buffers kept at most; more are left to the garbage collector. */
  constructor(private readonly maxPooledBytes = DEFAULT_POOLED_BYTES) {}

  /** A buffer of exactly `bytes` bytes (contents undefined), reused when a free one is big enough. */
  acquire(bytes: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i].byteLength >= bytes) {
        const [backing] = this.free.splice(i, 1);
        this.freeBytes -= backing.byteLength;
        return Buffer.from(backing, 0, bytes);
      }
    }
    const backing = new ArrayBuffer(Math.ceil(bytes / POOL_GRANULE_BYTES) * POOL_GRANULE_BYTES);
    this.owned.add(backing);
    return Buffer.from(backing, 0, bytes);
  }

  /** Gives back the buffer under `view` (from {@link acquire}; anything else is ignored). */
  release(view: Uint8Array): void {
    const backing = view.buffer;
    if (!this.owned.has(backing) || !(backing instanceof ArrayBuffer)) return;
    if (this.freeBytes + backing.byteLength > this.maxPooledBytes || this.free.includes(backing)) return;
    this.free.push(backing);
    this.freeBytes += backing.byteLength;
  }

  /** Whether `view` lies in a buffer of this pool. */
  owns(view: Uint8Array): boolean {
    return this.owned.has(view.buffer);
  }
}
