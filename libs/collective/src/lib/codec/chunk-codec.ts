import { collectiveV1 } from '@llm-forge/proto';
import { bf16ToF32, f32ToBf16 } from './bf16';
import type { WireDType } from '../options/ring-options';

type GradientChunk = collectiveV1.GradientChunk;

/** Tag of `GradientChunk.payload`: field 10, wire type 2 (length-delimited). */
const PAYLOAD_TAG = (10 << 3) | 2;

/** Wire bytes per element of a dtype. */
export function bytesPerElement(dtype: WireDType): number {
  return dtype === 'bf16' ? 2 : 4;
}

/** The proto enum value of a dtype. */
export function protoDType(dtype: WireDType): collectiveV1.DType {
  return dtype === 'bf16' ? collectiveV1.DType.DTYPE_BF16 : collectiveV1.DType.DTYPE_F32;
}

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

/**
 * Serializes a GradientChunk with one allocation and one payload copy. Wire-identical to
 * `GradientChunk.encode` (fields may come in any order; payload, field 10, goes last), but the
 * generated path copies the payload three times (BinaryWriter chunk, finish(), Buffer.from).
 */
export function encodeGradientChunk(chunk: GradientChunk): Buffer {
  const head = collectiveV1.GradientChunk.encode({ ...chunk, payload: Buffer.alloc(0) }).finish();
  const length = chunk.payload.length;
  const out = Buffer.allocUnsafe(head.length + 1 + varintLength(length) + length);
  out.set(head, 0);
  let at = head.length;
  out[at++] = PAYLOAD_TAG;
  for (let n = length; ;) {
    if (n < 0x80) {
      out[at++] = n;
      break;
    }
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out.set(chunk.payload, at);
  return out;
}

/** The payload bytes for `values`: a view for f32 (serialized before the values change), a new buffer for bf16. */
export function encodePayload(values: Float32Array, dtype: WireDType): Buffer {
  if (dtype === 'f32') return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 2);
  f32ToBf16(values, new Uint16Array(out.buffer, out.byteOffset, values.length));
  return out;
}

/**
 * The payload as f32 values: a view when the bytes are 4-aligned f32, otherwise decoded into
 * `scratch` (grown as needed and returned so callers can reuse it).
 */
export function decodePayload(
  payload: Buffer,
  dtype: WireDType,
  scratch: Float32Array,
): { values: Float32Array; scratch: Float32Array } {
  const count = payload.length / bytesPerElement(dtype);
  if (dtype === 'f32' && payload.byteOffset % 4 === 0) {
    return { values: new Float32Array(payload.buffer, payload.byteOffset, count), scratch };
  }
  if (scratch.length < count) scratch = new Float32Array(count);
  const values = scratch.subarray(0, count);
  if (dtype === 'f32') {
    new Uint8Array(values.buffer, values.byteOffset, payload.length).set(payload);
  } else if (payload.byteOffset % 2 === 0) {
    bf16ToF32(new Uint16Array(payload.buffer, payload.byteOffset, count), values);
  } else {
    bf16ToF32(new Uint16Array(Uint8Array.from(payload).buffer), values);
  }
  return { values, scratch };
}
