import { RingAllReduce } from '../ring/ring-all-reduce';
import type { RingAllReduceOptions } from '../options/ring-options';

/**
 * How much longer than its timeout a failing collective may take in a test that checks nobody
 * hangs: room for a loaded CI machine, yet well under the harness' 10 s default timeout, so a rank
 * that waited for that instead of the call's own timeout still fails the test.
 */
export const HANG_SLACK_MS = 4000;

/** Starts `n` ranks on loopback (ephemeral ports) and connects them into a ring. */
export async function startRing(
  n: number,
  options: Partial<RingAllReduceOptions> = {},
): Promise<RingAllReduce[]> {
  const rings = await Promise.all(
    Array.from({ length: n }, (_, rank) =>
      RingAllReduce.listen({ secret: 'test-secret', timeoutMs: 10_000, ...options, rank, worldSize: n }),
    ),
  );
  const addresses = rings.map((r) => r.address);
  await Promise.all(rings.map((r) => r.connect(addresses)));
  return rings;
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomBuffer(length: number, seed: number, integers = false): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    out[i] = integers ? Math.floor(u * 2000) - 1000 : u * 2 - 1;
  }
  return out;
}

/**
 * The ring's exact f32 result: segment k of each bucket is summed starting at rank k and going
 * right (rank k, k+1, ..., k-1), as the reduce-scatter does, then optionally divided by n.
 */
export function ringOrderSum(inputs: Float32Array[], bucketElements: number, average = false): Float32Array {
  const n = inputs.length;
  const length = inputs[0].length;
  const out = new Float32Array(length);
  for (let start = 0; start < length; start += bucketElements) {
    const bucketLength = Math.min(bucketElements, length - start);
    const base = Math.floor(bucketLength / n);
    const extra = bucketLength % n;
    for (let k = 0, at = start; k < n; k++) {
      const segLength = base + (k < extra ? 1 : 0);
      for (let i = at; i < at + segLength; i++) {
        let acc = inputs[k][i];
        for (let j = 1; j < n; j++) acc = Math.fround(inputs[(k + j) % n][i] + acc);
        out[i] = average ? Math.fround(acc / n) : acc;
      }
      at += segLength;
    }
  }
  return out;
}

/** Byte-wise equality of two Float32Arrays (distinguishes -0 and NaN payloads). */
export function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
