import { BinaryReader } from '@bufbuild/protobuf/wire';
import { collectiveV1 } from '@llm-forge/proto';
import { bf16ToF32, f32ToBf16 } from './bf16';
import { BufferPool, DEFAULT_POOLED_BYTES } from './buffer-pool';
import { mod } from '../layout/ring-layout';
import type { Bf16Decode, Bf16Encode, WireDType } from '../options/ring-options';
import { GRPC_FRAME_HEADER_BYTES, frameInPlace } from '../transport/in-place-framing';

type GradientChunk = collectiveV1.GradientChunk;

/** Tag of `GradientChunk.payload`: field 10, wire type 2 (length-delimited). */
const PAYLOAD_TAG = (10 << 3) | 2;
/** Tag of `GradientChunk.alignment`: field 11, wire type 2. */
const ALIGNMENT_TAG = (11 << 3) | 2;
const EMPTY = Buffer.alloc(0);

/**
 * The payload is placed modulo this many bytes. f32 read in place needs 4; V8 copies between a
 * SharedArrayBuffer (workers keep their gradients in one) and another buffer 5x slower when the two
 * addresses differ modulo 8 (measured 3.5 vs 17.6 GB/s): the copy out of the gradients into a chunk
 * and the all-gather's copy back into them are both SharedArrayBuffer copies.
 */
const PAYLOAD_ALIGNMENT = 8;

/**
 * Where the payload of `values` goes, modulo {@link PAYLOAD_ALIGNMENT}: f32 values where they lie in
 * their buffer (the chunk's offset in the flat gradients; ranks' gradient buffers start 8-aligned),
 * so both the sender's copy and the receiver's copy back are between equally aligned addresses.
 */
function payloadPlace(values: Float32Array, dtype: WireDType): number {
  return dtype === 'f32' ? values.byteOffset % PAYLOAD_ALIGNMENT : 0;
}

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

/** A GradientChunk's fields other than its payload and the filler the encoder computes. */
export type ChunkHeader = Omit<GradientChunk, 'payload' | 'alignment'>;

/**
 * Serializes GradientChunks into reusable buffers. Wire-compatible with `GradientChunk.encode`
 * (fields may come in any order): the header fields, then `alignment` — 0 to 7 zero bytes placing
 * the payload in the receiver's buffer as the values lie in the flat gradient buffer, modulo 8 (see
 * {@link payloadPlace}) — then the payload, field 10, last, written straight from the f32 values
 * (or their bf16 rounding). Each message has room for its gRPC frame header before it
 * ({@link frameInPlace}), so grpc-js sends it without a copy of its own. One payload copy and, in the
 * steady state, no allocation (see {@link BufferPool}).
 *
 * A buffer handed out by {@link encode} must not be touched by anyone once given back with
 * {@link release}; the ring releases a chunk when gRPC reports it written to the connection.
 */
export class ChunkEncoder {
  private readonly pool: BufferPool;

  private readonly bf16Encode: Bf16Encode;

  /**
   * @param options.bf16Encode - the encoder of `dtype: 'bf16'` payloads. @defaultValue {@link f32ToBf16}
   * @param options.maxPooledBytes - bytes of free buffers kept at most; more are left to the garbage
   * collector. @defaultValue 32 MiB
   */
  constructor(options: { bf16Encode?: Bf16Encode; maxPooledBytes?: number } = {}) {
    this.bf16Encode = options.bf16Encode ?? f32ToBf16;
    this.pool = new BufferPool(options.maxPooledBytes ?? DEFAULT_POOLED_BYTES);
  }

  /** The serialized chunk: `header` with `values` as its payload in `dtype`. */
  encode(header: ChunkHeader, values: Float32Array, dtype: WireDType): Buffer {
    const head = collectiveV1.GradientChunk.encode({
      ...header,
      payload: EMPTY,
      alignment: EMPTY,
    }).finish();
    const length = values.length * bytesPerElement(dtype);
    const payloadHeader = 1 + varintLength(length);
    // alignment field: its tag, a 1-byte length (0..7), the filler. The receiver's decoder (grpc-js'
    // or PooledMessageDecoder) assembles each frame into a buffer of its own, the message at offset 5.
    const before = GRPC_FRAME_HEADER_BYTES + head.length + 2 + payloadHeader;
    const filler = mod(payloadPlace(values, dtype) - before, PAYLOAD_ALIGNMENT);
    const out = frameInPlace(
      this.pool.acquire(GRPC_FRAME_HEADER_BYTES + head.length + 2 + filler + payloadHeader + length),
    );
    out.set(head, 0);
    let at = head.length;
    out[at++] = ALIGNMENT_TAG;
    out[at++] = filler;
    out.fill(0, at, at + filler);
    at += filler;
    out[at++] = PAYLOAD_TAG;
    at = writeVarint(out, at, length);
    if (dtype === 'f32') out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    else this.bf16Encode(values, new Uint16Array(out.buffer, out.byteOffset + at, values.length)); // 8-aligned
    return out;
  }

  /** Gives a buffer from {@link encode} back for reuse. */
  release(message: Buffer): void {
    this.pool.release(message);
  }
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
  chunk.alignment = EMPTY;
  return chunk;
}

/**
 * The payload as f32 values: a view when the bytes are 4-aligned f32, otherwise decoded into
 * `scratch` (grown as needed and returned so callers can reuse it), bf16 with `bf16Decode`.
 */
export function decodePayload(
  payload: Buffer,
  dtype: WireDType,
  scratch: Float32Array,
  bf16Decode: Bf16Decode = bf16ToF32,
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
    bf16Decode(new Uint16Array(payload.buffer, payload.byteOffset, count), values);
  } else {
    bf16Decode(new Uint16Array(Uint8Array.from(payload).buffer), values);
  }
  return { values, scratch };
}
