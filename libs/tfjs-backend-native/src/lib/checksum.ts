/**
 * A cheap 64-bit-ish fingerprint of a Float32Array's bytes for cross-worker divergence checks:
 * two xxhash32-style lanes over the 32-bit words, returned as 16 hex digits. Bit-identical
 * buffers give the same string on every platform; any flipped bit changes it (with
 * overwhelming probability). Not cryptographic. About 1 GB/s in V8.
 */
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;

function finalize(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fingerprint of `buffer`'s bytes (length included), as 16 lower-case hex digits. */
export function checksum(buffer: Float32Array): string {
  const words = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.length);
  let a = (P1 ^ words.length) | 0;
  let b = (P2 + words.length) | 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    a = Math.imul(((a ^ w) << 13) | ((a ^ w) >>> 19), P1);
    b = Math.imul(b + Math.imul(w, P3), P2) ^ (b >>> 17);
  }
  return (
    finalize(a).toString(16).padStart(8, '0') +
    finalize(b ^ a)
      .toString(16)
      .padStart(8, '0')
  );
}
