import { BinaryReader } from '@bufbuild/protobuf/wire';
import { collectiveV1 } from '@llm-forge/proto';
import { bf16ToF32, f32ToBf16 } from './bf16';
import type { WireDType } from '../options/ring-options';

type GradientChunk = collectiveV1.GradientChunk;

/** Tag of `GradientChunk.payload`: field 10, wire type 2 (length-delimited). */
const PAYLOAD_TAG = (10 << 3) | 2;
/** Tag of `GradientChunk.alignment`: field 11, wire type 2. */
const ALIGNMENT_TAG = (11 << 3) | 2;
/**
 * Bytes before a message in the receiver's buffer: grpc-js reassembles the gRPC frame (a 1-byte
 * compressed flag and a 4-byte length, then the message) into one new buffer and hands the
 * deserializer the message at offset 5. Where that differs the payload is merely copied once.
 */
const GRPC_FRAME_PREFIX_BYTES = 5;

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

function writeVarint(out: Buffer, at: number, n: number): number {
  for (;;) {
    if (n < 0x80) {
      out[at++] = n;
      return at;
    }
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
}

/**
 * Serializes a GradientChunk with one allocation and one payload copy. Wire-compatible with
 * `GradientChunk.encode` (fields may come in any order): the header fields, then `alignment` —
 * 0 to 3 zero bytes so that the payload starts on a 4-byte boundary of the receiver's buffer (see
 * {@link decodeGradientChunk}) — then the payload, field 10, last. The generated path copies the
 * payload three times (BinaryWriter chunk, finish(), Buffer.from).
 */
export function encodeGradientChunk(chunk: GradientChunk): Buffer {
  const head = collectiveV1.GradientChunk.encode({
    ...chunk,
    payload: Buffer.alloc(0),
    alignment: Buffer.alloc(0),
  }).finish();
  const length = chunk.payload.length;
  const payloadHeader = 1 + varintLength(length);
  // alignment field: its tag, a 1-byte length (0..3), the filler
  const before = GRPC_FRAME_PREFIX_BYTES + head.length + 2 + payloadHeader;
  const filler = (4 - (before % 4)) % 4;
  const out = Buffer.allocUnsafe(head.length + 2 + filler + payloadHeader + length);
  out.set(head, 0);
  let at = head.length;
  out[at++] = ALIGNMENT_TAG;
  out[at++] = filler;
  out.fill(0, at, at + filler);
  at += filler;
  out[at++] = PAYLOAD_TAG;
  at = writeVarint(out, at, length);
  out.set(chunk.payload, at);
  return out;
}

/**
 * Parses a GradientChunk with its payload as a view into `message` (no copy: the generated decoder
 * copies every `bytes` field). Accepts any field order, as the generated decoder does.
 */
export function decodeGradientChunk(message: Buffer): GradientChunk {
  const reader = new BinaryReader(message);
  let payload: [number, number] | undefined;
  let fieldStart = 0;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag === PAYLOAD_TAG) {
      const length = reader.uint32();
      payload = [reader.pos, reader.pos + length];
      fieldStart = start;
      reader.pos += length;
    } else {
      reader.skip(tag & 7, tag >>> 3);
    }
  }
  if (payload === undefined) return collectiveV1.GradientChunk.decode(message);
  const [from, to] = payload;
  const header =
    to === message.length
      ? message.subarray(0, fieldStart)
      : Buffer.concat([message.subarray(0, fieldStart), message.subarray(to)]);
  const chunk = collectiveV1.GradientChunk.decode(header);
  chunk.payload = message.subarray(from, to);
  chunk.alignment = Buffer.alloc(0);
  return chunk;
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
