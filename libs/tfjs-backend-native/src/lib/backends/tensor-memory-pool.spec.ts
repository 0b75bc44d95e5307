import * as tf from '@tensorflow/tfjs-core';
import { nativeAvailable, useBackend } from '../test-utils/backends';
import { getNativeAddon } from '../native/native-addon';
import { NativeBackend, readValues } from './native-backend';
import { TensorMemoryPool } from './tensor-memory-pool';

const MiB = 1 << 20;
/** A view of a buffer, as the backend stores a tensor's values. */
const view = (buffer: ArrayBuffer) => new Float32Array(buffer);

describe('TensorMemoryPool', () => {
  it('hands a released buffer to the next allocation of its size', () => {
    const pool = new TensorMemoryPool();
    const first = pool.allocate(MiB);
    pool.retain(view(first));
    pool.release(view(first));
    expect(pool.allocate(2 * MiB)).not.toBe(first);
    expect(pool.allocate(MiB)).toBe(first);
    expect(pool.snapshot()).toMatchObject({ reused: 1, allocated: 2 });
  });

  it('serves a request from the smallest free buffer up to 1.5x its size when none is its size', () => {
    const pool = new TensorMemoryPool();
    const [big, bigger, huge] = [pool.allocate(3 * MiB), pool.allocate(4 * MiB), pool.allocate(8 * MiB)];
    [big, bigger, huge].forEach((b) => pool.retain(view(b)));
    [big, bigger, huge].forEach((b) => pool.release(view(b)));
    expect(pool.allocate(2.5 * MiB)).toBe(big); // 1.2x
    expect(pool.allocate(3 * MiB)).toBe(bigger); // 1.33x, the smallest left
    expect(pool.allocate(5 * MiB)).not.toBe(huge); // 1.6x: new memory instead
    expect(pool.snapshot()).toMatchObject({ reused: 2, pooledBytes: 8 * MiB });
  });

  it('never reuses a buffer a view of which escaped', () => {
    const pool = new TensorMemoryPool();
    const buffer = pool.allocate(MiB);
    pool.retain(view(buffer));
    pool.escape(view(buffer));
    pool.release(view(buffer));
    expect(pool.allocate(MiB)).not.toBe(buffer);
    expect(pool.snapshot().pooledBytes).toBe(0);
  });

  it('reuses a buffer several entries share only when the last of them is released', () => {
    const pool = new TensorMemoryPool();
    const buffer = pool.allocate(MiB);
    pool.retain(view(buffer));
    pool.retain(new Float32Array(buffer, 1024, 16)); // a Slice's subarray of it
    pool.release(view(buffer));
    expect(pool.allocate(MiB)).not.toBe(buffer);
    pool.release(new Float32Array(buffer, 1024, 16));
    expect(pool.allocate(MiB)).toBe(buffer);
  });

  it('leaves memory it did not allocate, and small buffers, alone', () => {
    const pool = new TensorMemoryPool();
    const foreign = new ArrayBuffer(MiB);
    pool.retain(view(foreign));
    pool.release(view(foreign));
    const small = pool.allocate(1024);
    pool.retain(view(small));
    pool.release(view(small));
    expect(pool.snapshot()).toMatchObject({ pooledBytes: 0, reused: 0 });
    expect(pool.allocate(MiB)).not.toBe(foreign);
  });

  it('drops the oldest free buffers beyond its limit, freeing them at once', () => {
    const freed: ArrayBuffer[] = [];
    const pool = new TensorMemoryPool({ maxPooledBytes: 2 * MiB, freeNow: (b) => freed.push(b) });
    const buffers = [pool.allocate(MiB), pool.allocate(MiB), pool.allocate(MiB)];
    buffers.forEach((b) => pool.retain(view(b)));
    buffers.forEach((b) => pool.release(view(b)));
    expect(pool.snapshot()).toMatchObject({ pooledBytes: 2 * MiB, evicted: 1 });
    expect(freed).toEqual([buffers[0]]);
    const again = [pool.allocate(MiB), pool.allocate(MiB), pool.allocate(MiB)];
    expect(again).not.toContain(buffers[0]); // the oldest was dropped
    expect(again).toEqual(expect.arrayContaining([buffers[1], buffers[2]]));
  });

  it('by default keeps what is in use and kept within 1.5 times the peak in use', () => {
    const pool = new TensorMemoryPool();
    const big = Array.from({ length: 3 }, () => pool.allocate(128 * MiB)); // in use at once: 384 MiB
    big.forEach((b) => pool.retain(view(b)));
    big.forEach((b) => pool.release(view(b)));
    expect(pool.snapshot()).toMatchObject({ pooledBytes: 384 * MiB, evicted: 0, peakInUseBytes: 384 * MiB });
    // Then buffers of new, larger sizes, one at a time (as generation's growing shapes make): what
    // is kept stops at 1.5 x 384 MiB, the oldest dropped first.
    for (let i = 0; i < 4; i++) {
      const b = pool.allocate((200 + i) * MiB);
      pool.retain(view(b));
      pool.release(view(b));
    }
    expect(pool.snapshot().evicted).toBeGreaterThan(0);
    expect(pool.snapshot().pooledBytes).toBeLessThanOrEqual(1.5 * 384 * MiB);
    pool.clear();
    expect(pool.snapshot().pooledBytes).toBe(0);
  });

  it('drops a buffer nobody asked for while six peaks of memory were handed out', () => {
    const freed: ArrayBuffer[] = [];
    const pool = new TensorMemoryPool({ freeNow: (b) => freed.push(b) });
    const idle = pool.allocate(MiB);
    pool.retain(view(idle));
    pool.release(view(idle));
    // 2 MiB taken and given back over and over: 200 x 2 MiB handed out, more than 6 x 64 MiB (the
    // least peak the pool ages by).
    for (let i = 0; i < 200; i++) {
      const b = pool.allocate(2 * MiB);
      pool.retain(view(b));
      pool.release(view(b));
    }
    expect(freed).toEqual([idle]);
    expect(pool.snapshot()).toMatchObject({ evicted: 1, pooledBytes: 2 * MiB });
  });
});

(nativeAvailable() ? describe : describe.skip)('the native backend reuses kernel output memory', () => {
  let backend: NativeBackend;
  beforeAll(async () => {
    await useBackend('native');
    backend = tf.backend() as NativeBackend;
  });

  const filled = (rows: number, value: number) => tf.fill([rows, 1024], value);
  /** A native kernel's output [rows, 1024]: x + 1. */
  const addOne = (x: tf.Tensor) => tf.add(x, tf.scalar(1));

  it('gives a disposed output memory to the next output of its size, with correct values', () => {
    const x = filled(64, 1);
    const before = backend.memoryPoolStats().reused;
    for (let i = 0; i < 4; i++) {
      const y = addOne(x);
      readValues(y, (values) => expect(Array.from(new Set(values))).toEqual([2]));
      y.dispose();
      const z = tf.mul(x, tf.scalar(3));
      readValues(z, (values) => expect(Array.from(new Set(values))).toEqual([3]));
      z.dispose();
    }
    expect(backend.memoryPoolStats().reused - before).toBeGreaterThanOrEqual(7); // all but the first
    x.dispose();
  });

  it('gives a smaller output a view of a larger free buffer, of the right length and values', () => {
    const x = filled(64, 1);
    addOne(x).dispose(); // frees 256 KiB
    const before = backend.memoryPoolStats().reused;
    const rows = filled(48, 4); // the cpu kernel's memory, not the pool's
    const y = addOne(rows); // 192 KiB: served from the 256 KiB buffer
    expect(backend.memoryPoolStats().reused).toBe(before + 1);
    const values = y.dataSync();
    expect(values.length).toBe(48 * 1024);
    expect((values as Float32Array).buffer.byteLength).toBe(64 * 1024 * 4);
    expect(Array.from(new Set(values))).toEqual([5]);
    tf.dispose([x, rows, y]);
  });

  it('keeps what dataSync() returned intact after the tensor is disposed', () => {
    const x = filled(64, 1);
    const y = addOne(x);
    const read = y.dataSync();
    y.dispose();
    const later = [tf.mul(x, tf.scalar(7)), tf.mul(x, tf.scalar(9))]; // outputs of the same size
    expect(Array.from(new Set(read))).toEqual([2]);
    tf.dispose([x, ...later]);
  });

  it('keeps a slice that shares its input memory intact after the input is disposed', () => {
    const x = filled(64, 1);
    const y = addOne(x); // pooled memory, all 2
    const rows = tf.slice(y, [0, 0], [32, 1024]); // the cpu kernel returns a subarray of y's memory
    y.dispose();
    const later = [tf.mul(x, tf.scalar(5)), tf.mul(x, tf.scalar(9))];
    expect(Array.from(new Set(rows.dataSync()))).toEqual([2]);
    tf.dispose([x, rows, ...later]);
  });

  it("frees a dropped buffer's memory at once through the addon (detached: its views read empty)", () => {
    const addon = getNativeAddon()!;
    const buffer = Buffer.allocUnsafeSlow(MiB).buffer as ArrayBuffer;
    const before = process.memoryUsage().arrayBuffers;
    addon.detachArrayBuffer!(buffer);
    expect(buffer.byteLength).toBe(0);
    expect(process.memoryUsage().arrayBuffers).toBeLessThanOrEqual(before - MiB);
  });

  it('lends values to readValues without marking them as escaped', () => {
    const x = filled(64, 1);
    const y = addOne(x);
    const sum = readValues(y, (values) => values.reduce((a, b) => a + b, 0));
    expect(sum).toBe(2 * 64 * 1024);
    y.dispose();
    const before = backend.memoryPoolStats().reused;
    const z = addOne(x);
    expect(backend.memoryPoolStats().reused).toBe(before + 1);
    tf.dispose([x, z]);
  });
});
