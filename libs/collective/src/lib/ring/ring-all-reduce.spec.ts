import { CollectiveAuthError } from '../errors/collective-auth-error';
import { CollectiveConfigError } from '../errors/collective-config-error';
import { CollectiveError } from '../errors/collective-error';
import { CollectiveTimeoutError } from '../errors/collective-timeout-error';
import { checksum } from '@llm-forge/tfjs-backend-native';
import { bf16ToF32, f32ToBf16, roundToBf16InPlace } from '../codec/bf16';
import { HANG_SLACK_MS, randomBuffer, ringOrderSum, sameBytes, startRing } from '../test-utils/ring-harness';
import { RingAllReduce } from './ring-all-reduce';

// Small buckets and chunks so every test crosses bucket, segment and chunk boundaries.
const SMALL = { bucketBytes: 4 * 1000, chunkBytes: 4 * 96 };
const BUCKET_ELEMENTS = 1000;

const open: RingAllReduce[] = [];
async function ring(n: number, options = {}): Promise<RingAllReduce[]> {
  const rings = await startRing(n, { ...SMALL, ...options });
  open.push(...rings);
  return rings;
}
afterAll(async () => {
  await Promise.all(open.map((r) => r.close()));
});

async function allReduceAll(
  rings: RingAllReduce[],
  inputs: Float32Array[],
  options: Parameters<RingAllReduce['allReduce']>[1],
): Promise<Float32Array[]> {
  const buffers = inputs.map((x) => x.slice());
  await Promise.all(rings.map((r, i) => r.allReduce(buffers[i], options)));
  return buffers;
}

describe('RingAllReduce', () => {
  it('is a no-op for world size 1', async () => {
    const [solo] = await ring(1);
    const x = randomBuffer(10, 1);
    const y = x.slice();
    await solo.allReduce(y, { step: 0, average: true });
    expect(sameBytes(x, y)).toBe(true);
  });

  describe.each([2, 3, 4])('with %i ranks', (n) => {
    let rings: RingAllReduce[];
    let step = 0;
    beforeAll(async () => {
      rings = await ring(n);
    });

    it.each([1, 2, 3, 5, 97, 1001, 4099])(
      'sums %i random floats bit-identically on every rank, in ring order',
      async (length) => {
        const inputs = rings.map((_, r) => randomBuffer(length, 100 * length + r));
        const outputs = await allReduceAll(rings, inputs, { step: step++ });
        const expected = ringOrderSum(inputs, BUCKET_ELEMENTS);
        for (const out of outputs) expect(sameBytes(out, expected)).toBe(true);
        expect(new Set(outputs.map(checksum)).size).toBe(1);
      },
    );

    it('equals the plain local sum for integer-valued buffers', async () => {
      const inputs = rings.map((_, r) => randomBuffer(2503, 7 + r, true));
      const outputs = await allReduceAll(rings, inputs, { step: step++ });
      const local = new Float32Array(2503);
      for (const x of inputs) for (let i = 0; i < x.length; i++) local[i] += x[i];
      for (const out of outputs) expect(Array.from(out)).toEqual(Array.from(local));
    });

    it('averages', async () => {
      const inputs = rings.map((_, r) => randomBuffer(1234, 50 + r));
      const outputs = await allReduceAll(rings, inputs, { step: step++, average: true });
      const expected = ringOrderSum(inputs, BUCKET_ELEMENTS, true);
      for (const out of outputs) expect(sameBytes(out, expected)).toBe(true);
    });

    it('sends bf16 within bf16 tolerance, identical on every rank', async () => {
      const inputs = rings.map((_, r) => randomBuffer(3001, 900 + r));
      const outputs = await allReduceAll(rings, inputs, { step: step++, wireDType: 'bf16' });
      const exact = ringOrderSum(inputs, BUCKET_ELEMENTS);
      for (let i = 0; i < exact.length; i++) {
        // n roundings of partial sums of magnitude <= n, each off by at most 2^-9 relative
        expect(Math.abs(outputs[0][i] - exact[i])).toBeLessThanOrEqual(n * n * 2 ** -8);
      }
      for (const out of outputs) expect(sameBytes(out, outputs[0])).toBe(true);
    });
  });

  it('runs back-to-back steps on one ring', async () => {
    const rings = await ring(3);
    for (let step = 10; step < 15; step++) {
      const inputs = rings.map((_, r) => randomBuffer(5000 + step, step * 10 + r));
      const outputs = await allReduceAll(rings, inputs, { step });
      for (const out of outputs) expect(sameBytes(out, ringOrderSum(inputs, BUCKET_ELEMENTS))).toBe(true);
    }
  });

  it('queues overlapping calls and runs them in call order, each summed exactly', async () => {
    const rings = await ring(3);
    const lengths = [4099, 17, 2500, 1];
    const inputs = lengths.map((length, k) => rings.map((_, r) => randomBuffer(length, 1000 * k + r)));
    const buffers = inputs.map((perRank) => perRank.map((x) => x.slice()));
    const finished: number[] = [];
    // every rank hands over all four operations at once, as a step does with gradient buckets
    await Promise.all(
      rings.flatMap((r, rank) =>
        lengths.map((_, k) =>
          r.allReduce(buffers[k][rank], { step: 100 + k }).then(() => rank === 0 && finished.push(k)),
        ),
      ),
    );
    expect(finished).toEqual([0, 1, 2, 3]);
    buffers.forEach((perRank, k) => {
      for (const out of perRank) expect(sameBytes(out, ringOrderSum(inputs[k], BUCKET_ELEMENTS))).toBe(true);
    });
    await expect(rings[0].allReduce(new Float32Array(3), { step: 101 })).rejects.toThrow(
      CollectiveConfigError,
    );
  });

  it('sums large chunks (framed in place, assembled in pooled buffers) into shared buffers at any offset', async () => {
    // Chunks of 256 KiB take the pooled paths (small test chunks do not); several steps reuse the
    // pools' buffers; shared gradient buffers as workers keep them, one starting 4 bytes in.
    const bucketBytes = 2 ** 20;
    const rings = await ring(3, { chunkBytes: 256 * 1024, bucketBytes });
    const length = 700_001;
    for (let step = 0; step < 3; step++) {
      const inputs = rings.map((_, r) => randomBuffer(length, 31 * step + r));
      const outputs = inputs.map((x, r) => {
        const shared = new Float32Array(
          new SharedArrayBuffer(4 * (length + 1)),
          4 * (r === 1 ? 1 : 0),
          length,
        );
        shared.set(x);
        return shared;
      });
      await Promise.all(rings.map((ring, r) => ring.allReduce(outputs[r], { step })));
      const expected = ringOrderSum(inputs, bucketBytes / 4);
      for (const out of outputs) expect(sameBytes(out, expected)).toBe(true);
    }
  });

  it('reduces and averages with the given kernels (ranks may differ: IEEE f32 add and divide are exact)', async () => {
    const sums = [0, 0, 0];
    const divides = [0, 0, 0];
    const summing = (rank: number) => (target: Float32Array, source: Float32Array) => {
      sums[rank]++;
      for (let i = 0; i < target.length; i++) target[i] = Math.fround(target[i] + source[i]);
    };
    const dividing = (rank: number) => (values: Float32Array, divisor: number) => {
      divides[rank]++;
      for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i] / divisor);
    };
    // rank 2 keeps the JavaScript defaults
    const kernels = [0, 1, 2].map((rank) =>
      rank < 2 ? { sumInto: summing(rank), divideInPlace: dividing(rank) } : {},
    );
    const rings = await Promise.all(
      kernels.map((k, rank) =>
        RingAllReduce.listen({ ...SMALL, secret: 'test-secret', rank, worldSize: 3, ...k }),
      ),
    );
    open.push(...rings);
    await Promise.all(rings.map((r) => r.connect(rings.map((x) => x.address))));
    const inputs = rings.map((_, r) => randomBuffer(4099, 700 + r));
    const outputs = await allReduceAll(rings, inputs, { step: 0 });
    for (const out of outputs) expect(sameBytes(out, ringOrderSum(inputs, BUCKET_ELEMENTS))).toBe(true);
    expect(divides).toEqual([0, 0, 0]);
    const averaged = await allReduceAll(rings, inputs, { step: 1, average: true });
    for (const out of averaged)
      expect(sameBytes(out, ringOrderSum(inputs, BUCKET_ELEMENTS, true))).toBe(true);
    expect(sums[0]).toBeGreaterThan(0);
    expect(sums[1]).toBeGreaterThan(0);
    expect(sums[2]).toBe(0);
    expect(divides[0]).toBeGreaterThan(0);
    expect(divides[1]).toBeGreaterThan(0);
    expect(divides[2]).toBe(0);
  });

  it('encodes, decodes and rounds bf16 with the given kernels (ranks may differ when their bits agree)', async () => {
    const calls = [0, 1, 2].map(() => ({ encode: 0, decode: 0, round: 0 }));
    const counting = (rank: number) => ({
      bf16Encode: (source: Float32Array, target: Uint16Array) => {
        calls[rank].encode++;
        f32ToBf16(source, target);
      },
      bf16Decode: (source: Uint16Array, target: Float32Array) => {
        calls[rank].decode++;
        bf16ToF32(source, target);
      },
      bf16Round: (values: Float32Array) => {
        calls[rank].round++;
        roundToBf16InPlace(values);
      },
    });
    const kernelled = await Promise.all(
      [0, 1, 2].map((rank) =>
        RingAllReduce.listen({
          ...SMALL,
          secret: 'test-secret',
          rank,
          worldSize: 3,
          ...(rank < 2 ? counting(rank) : {}), // rank 2 keeps the JavaScript defaults
        }),
      ),
    );
    open.push(...kernelled);
    await Promise.all(kernelled.map((r) => r.connect(kernelled.map((x) => x.address))));
    const inputs = kernelled.map((_, r) => randomBuffer(4099, 900 + r));
    const outputs = await allReduceAll(kernelled, inputs, { step: 0, wireDType: 'bf16', average: true });
    const reference = await allReduceAll(await ring(3), inputs, {
      step: 0,
      wireDType: 'bf16',
      average: true,
    });
    for (const out of outputs) expect(sameBytes(out, reference[0])).toBe(true);
    for (const rank of [0, 1]) {
      expect(calls[rank].encode).toBeGreaterThan(0);
      expect(calls[rank].decode).toBeGreaterThan(0);
      expect(calls[rank].round).toBeGreaterThan(0);
    }
    expect(calls[2]).toEqual({ encode: 0, decode: 0, round: 0 });
  });

  it('connect waits for a neighbour that joins the generation late, and names a wrong one', async () => {
    const rings = await ring(2);
    const addresses = rings.map((r) => r.address);
    rings[0].reconfigure({ rank: 0, worldSize: 2, jobId: 'late' });
    const late = setTimeout(() => rings[1].reconfigure({ rank: 1, worldSize: 2, jobId: 'late' }), 300);
    rings[1].reconfigure({ rank: 0, worldSize: 1 }); // still in its previous generation
    await rings[0].connect(addresses, 5_000); // succeeds once rank 1 has joined
    clearTimeout(late);
    await rings[1].connect(addresses);
    rings[1].reconfigure({ rank: 0, worldSize: 1 });
    await expect(rings[0].connect(addresses, 400)).rejects.toThrow(
      /entry 1 \(.*\) is rank 0 of 1, expected rank 1 of 2 \(still after 400 ms\)/,
    );
  });

  it('reconfigures into a smaller ring on the same addresses, even at an earlier step', async () => {
    const rings = await ring(3);
    const before = rings.map((_, r) => randomBuffer(2000, r));
    await allReduceAll(rings, before, { step: 7 });
    const survivors = [rings[0], rings[2]];
    const addresses = survivors.map((r) => r.address);
    survivors.forEach((r, rank) => r.reconfigure({ rank, worldSize: 2 }));
    expect(survivors.map((r) => r.address)).toEqual(addresses);
    await Promise.all(survivors.map((r) => r.connect(addresses)));
    const inputs = survivors.map((_, r) => randomBuffer(2000, 10 + r));
    const outputs = await allReduceAll(survivors, inputs, { step: 5, attempt: 1 });
    for (const out of outputs) expect(sameBytes(out, ringOrderSum(inputs, BUCKET_ELEMENTS))).toBe(true);
    expect(() => rings[1].reconfigure({ rank: 3, worldSize: 2 })).toThrow(CollectiveConfigError);
  });

  it('times out on every rank when a peer stops answering, and a retried attempt succeeds', async () => {
    const rings = await ring(3);
    const inputs = rings.map((_, r) => randomBuffer(3000, r));
    const started = Date.now();
    // Rank 2 never joins attempt 0.
    const results = await Promise.allSettled(
      [0, 1].map((r) => rings[r].allReduce(inputs[r].slice(), { step: 1, timeoutMs: 800 })),
    );
    expect(Date.now() - started).toBeLessThan(800 + HANG_SLACK_MS);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as CollectiveTimeoutError;
      expect(error).toBeInstanceOf(CollectiveTimeoutError);
      expect(error.step).toBe(1);
      expect(error.attempt).toBe(0);
      expect(error.message).toMatch(/waiting for rank \d/);
    }
    // Stale chunks of attempt 0 (held by rank 2) are discarded; attempt 1 gives the exact result.
    const outputs = await allReduceAll(rings, inputs, { step: 1, attempt: 1 });
    for (const out of outputs) expect(sameBytes(out, ringOrderSum(inputs, BUCKET_ELEMENTS))).toBe(true);
  });

  it('aborts every other rank within the timeout when a rank dies mid-all-reduce', async () => {
    const rings = await ring(4, { chunkBytes: 4 * 256 });
    const inputs = rings.map((_, r) => randomBuffer(400_000, r));
    const timeoutMs = 1500;
    const started = Date.now();
    const pending = rings.map((r, i) => r.allReduce(inputs[i], { step: 1, timeoutMs }));
    setTimeout(() => void rings[2].close(), 5);
    const results = await Promise.allSettled(pending);
    expect(Date.now() - started).toBeLessThan(timeoutMs + HANG_SLACK_MS);
    // Rank 1 (its right died) fails fast with a peer error and aborts its own incoming stream, so
    // the failure runs round the ring; rank 3 (its left died) times out unless that cascade wins.
    for (const [rank, result] of results.entries()) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as CollectiveError;
      expect(error).toBeInstanceOf(CollectiveError);
      if (rank === 2) continue; // the dead rank itself: CollectiveClosedError
      expect(error.peerRank).toEqual(expect.any(Number));
      expect(error.step).toBe(1);
      if (process.env.DEBUG_COLLECTIVE) console.log(rank, error.name, error.message);
    }
  });

  it('rejects a peer with the wrong secret (UNAUTHENTICATED)', async () => {
    const good = await RingAllReduce.listen({ rank: 1, worldSize: 2, secret: 'right' });
    const bad = await RingAllReduce.listen({ rank: 0, worldSize: 2, secret: 'wrong' });
    open.push(good, bad);
    const error = await bad.connect([bad.address, good.address]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectiveAuthError);
    expect((error as CollectiveAuthError).message).toMatch(/wrong shared secret/);
  });

  it('validates options naming the field', async () => {
    await expect(RingAllReduce.listen({ rank: 3, worldSize: 2, secret: 's' })).rejects.toThrow(
      CollectiveConfigError,
    );
    await expect(RingAllReduce.listen({ rank: 0, worldSize: 2, secret: '' })).rejects.toThrow(/secret/);
    const notAFunction = 'add' as unknown as (t: Float32Array, s: Float32Array) => void;
    await expect(
      RingAllReduce.listen({ rank: 0, worldSize: 2, secret: 's', sumInto: notAFunction }),
    ).rejects.toThrow(/sumInto must be a function/);
    await expect(
      RingAllReduce.listen({
        rank: 0,
        worldSize: 2,
        secret: 's',
        divideInPlace: notAFunction as unknown as (v: Float32Array, d: number) => void,
      }),
    ).rejects.toThrow(/divideInPlace must be a function/);
    for (const kernel of ['bf16Encode', 'bf16Decode', 'bf16Round']) {
      await expect(
        RingAllReduce.listen({ rank: 0, worldSize: 2, secret: 's', [kernel]: notAFunction }),
      ).rejects.toThrow(new RegExp(`${kernel} must be a function`));
    }
    const [a] = await ring(1);
    await a.allReduce(new Float32Array(4), { step: 5 });
    await expect(a.allReduce(new Float32Array(4), { step: 5 })).rejects.toThrow(
      /step 5 attempt 0 does not come after/,
    );
  });
});
