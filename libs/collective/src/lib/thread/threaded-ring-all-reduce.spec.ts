/**
 * The ring on its own thread, through the compiled thread entry (dist/, built by `npm run build`;
 * the suite is skipped with a message when it is absent, since ts-jest runs only the sources).
 */
import * as path from 'path';
import { CollectiveConfigError } from '../errors/collective-config-error';
import { CollectiveTimeoutError } from '../errors/collective-timeout-error';
import { RingAllReduce } from '../ring/ring-all-reduce';
import { randomBuffer, ringOrderSum, sameBytes } from '../test-utils/ring-harness';
import { deserializeError, serializeError } from './ring-thread-protocol';
import { ThreadedRingAllReduce } from './threaded-ring-all-reduce';

const THREAD_FILE = path.resolve(__dirname, '../../../dist/lib/thread/ring-thread.js');
const SMALL = { bucketBytes: 4 * 1000, chunkBytes: 4 * 96, secret: 'test-secret', timeoutMs: 10_000 };
const built = ThreadedRingAllReduce.available(THREAD_FILE);
if (!built) console.warn(`skipping the threaded ring tests: ${THREAD_FILE} is missing (npm run build)`);

describe('collective errors across threads', () => {
  it('keep their class and fields', () => {
    const original = new CollectiveTimeoutError(
      { step: 3, attempt: 1, peerRank: 2, timeoutMs: 50 },
      'nothing came',
    );
    const copy = deserializeError(structuredClone(serializeError(original)));
    expect(copy).toBeInstanceOf(CollectiveTimeoutError);
    expect(copy).toMatchObject({ message: original.message, step: 3, peerRank: 2, timeoutMs: 50 });
    expect(deserializeError(serializeError(new TypeError('x')))).toBeInstanceOf(Error);
  });
});

(built ? describe : describe.skip)('ThreadedRingAllReduce', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(open.map((r) => r.close()));
  });

  it('sums bit-identically with in-thread ranks, step after step, and reconfigures', async () => {
    const threaded = await Promise.all(
      [0, 1].map((rank) =>
        ThreadedRingAllReduce.listen({ ...SMALL, rank, worldSize: 3, threadFile: THREAD_FILE }),
      ),
    );
    const local = await RingAllReduce.listen({ ...SMALL, rank: 2, worldSize: 3 });
    const rings = [...threaded, local];
    open.push(...rings);
    const addresses = rings.map((r) => r.address);
    await Promise.all(rings.map((r) => r.connect(addresses)));
    for (let step = 0; step < 3; step++) {
      const inputs = rings.map((_, r) => randomBuffer(4099 + step, 40 * step + r));
      const outputs = inputs.map((x) => x.slice());
      const results = await Promise.all(rings.map((r, i) => r.allReduce(outputs[i], { step })));
      for (const out of outputs) expect(sameBytes(out, ringOrderSum(inputs, 1000))).toBe(true);
      expect(results[0].bytesSent).toBeGreaterThan(0);
    }
    // a buffer on shared memory is reduced in place, at any offset
    const shared = threaded.map((_, r) => {
      const view = new Float32Array(new SharedArrayBuffer(4 * 600), 4 * 50, 500);
      view.set(randomBuffer(500, 60 + r));
      return view;
    });
    const sharedInputs = [...shared.map((x) => x.slice()), randomBuffer(500, 62)];
    const localOut = sharedInputs[2].slice();
    await Promise.all([
      ...threaded.map((r, i) => r.allReduce(shared[i], { step: 3 })),
      local.allReduce(localOut, { step: 3 }),
    ]);
    for (const out of [...shared, localOut])
      expect(sameBytes(out, ringOrderSum(sharedInputs, 1000))).toBe(true);
    // overlapping calls with buffers in JavaScript memory: each gets its own staging area
    const overlapping = [300, 40].map((length, k) =>
      rings.map((_, r) => randomBuffer(length, 70 + 10 * k + r)),
    );
    const overlapOut = overlapping.map((perRank) => perRank.map((x) => x.slice()));
    await Promise.all(
      rings.flatMap((r, rank) => [0, 1].map((k) => r.allReduce(overlapOut[k][rank], { step: 4 + k }))),
    );
    overlapOut.forEach((perRank, k) => {
      for (const out of perRank) expect(sameBytes(out, ringOrderSum(overlapping[k], 1000))).toBe(true);
    });
    // a new generation of two: the threaded ranks alone, from step 0 again
    threaded.forEach((r, rank) => r.reconfigure({ rank, worldSize: 2 }));
    expect(threaded[1]).toMatchObject({ rank: 1, worldSize: 2 });
    await Promise.all(threaded.map((r) => r.connect(addresses.slice(0, 2))));
    const inputs = threaded.map((_, r) => randomBuffer(777, 90 + r));
    const outputs = inputs.map((x) => x.slice());
    await Promise.all(threaded.map((r, i) => r.allReduce(outputs[i], { step: 0, average: true })));
    expect(sameBytes(outputs[0], ringOrderSum(inputs, 1000, true))).toBe(true);
    expect(sameBytes(outputs[1], outputs[0])).toBe(true);
    expect(() => threaded[0].reconfigure({ rank: 5, worldSize: 2 })).toThrow(CollectiveConfigError);
  });

  it('rejects with the ring error class when a peer never answers', async () => {
    const [a] = await Promise.all([
      ThreadedRingAllReduce.listen({
        ...SMALL,
        rank: 0,
        worldSize: 2,
        timeoutMs: 500,
        threadFile: THREAD_FILE,
      }),
    ]);
    const silent = await RingAllReduce.listen({ ...SMALL, rank: 1, worldSize: 2 });
    open.push(a, silent);
    await a.connect([a.address, silent.address]);
    const error = await a.allReduce(new Float32Array(100), { step: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectiveTimeoutError);
    expect((error as CollectiveTimeoutError).message).toMatch(/timed out after 500 ms/);
  });

  it('reduces and averages with kernels named by module export', async () => {
    const kernel = path.resolve(__dirname, '../../../dist/lib/options/ring-options.js');
    const codec = path.resolve(__dirname, '../../../dist/lib/codec/bf16.js');
    const rings = await Promise.all(
      [0, 1].map((rank) =>
        ThreadedRingAllReduce.listen({
          ...SMALL,
          rank,
          worldSize: 2,
          threadFile: THREAD_FILE,
          sumInto: { module: kernel, exportName: 'sumIntoJs' },
          divideInPlace: { module: kernel, exportName: 'divideInPlaceJs' },
          bf16Encode: { module: codec, exportName: 'f32ToBf16' },
          bf16Decode: { module: codec, exportName: 'bf16ToF32' },
          bf16Round: { module: codec, exportName: 'roundToBf16InPlace' },
        }),
      ),
    );
    open.push(...rings);
    await Promise.all(rings.map((r) => r.connect(rings.map((x) => x.address))));
    const outputs = [new Float32Array(10).fill(1), new Float32Array(10).fill(2)];
    await Promise.all(rings.map((r, i) => r.allReduce(outputs[i], { step: 0 })));
    expect(Array.from(outputs[1])).toEqual(new Array(10).fill(3));
    await Promise.all(rings.map((r, i) => r.allReduce(outputs[i], { step: 1, average: true })));
    expect(Array.from(outputs[0])).toEqual(new Array(10).fill(3));
    const halves = [new Float32Array(10).fill(1.5), new Float32Array(10).fill(0.25)];
    await Promise.all(rings.map((r, i) => r.allReduce(halves[i], { step: 2, wireDType: 'bf16' })));
    expect(Array.from(halves[1])).toEqual(new Array(10).fill(1.75)); // through the bf16 kernels named below
    const missing = [
      { sumInto: { module: kernel, exportName: 'nothing' } },
      { divideInPlace: { module: kernel, exportName: 'RING_DEFAULTS' } }, // not a function
      { bf16Round: { module: codec, exportName: 'roundToBf16' } },
    ];
    for (const kernels of missing) {
      const name = Object.values(kernels)[0].exportName;
      await expect(
        ThreadedRingAllReduce.listen({
          ...SMALL,
          rank: 0,
          worldSize: 1,
          threadFile: THREAD_FILE,
          ...kernels,
        }),
      ).rejects.toThrow(`has no function export '${name}'`);
    }
  });

  it('fails waiting and later calls, and tells onLost, when its thread dies', async () => {
    const ring = await ThreadedRingAllReduce.listen({
      ...SMALL,
      rank: 0,
      worldSize: 2,
      threadFile: THREAD_FILE,
    });
    const lost: Error[] = [];
    ring.onLost = (error) => lost.push(error);
    const other = await RingAllReduce.listen({ ...SMALL, rank: 1, worldSize: 2 });
    open.push(other);
    await ring.connect([ring.address, other.address]);
    const waiting = ring.allReduce(new Float32Array(10), { step: 0 }).catch((e: Error) => e);
    await (ring as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
    expect(String(await waiting)).toMatch(/collective thread exited/);
    expect(lost).toHaveLength(1);
    await expect(ring.allReduce(new Float32Array(10), { step: 1 })).rejects.toThrow();
    await ring.close(); // harmless after the loss
  });
});
