import { collectiveV1 } from '@llm-forge/proto';
import { f32ToBf16 } from './bf16';
import { ChunkEncoder, ChunkHeader, decodeGradientChunk, decodePayload } from './chunk-codec';
import { GRPC_FRAME_HEADER_BYTES } from '../transport/in-place-framing';

function header(jobId = 'run-1'): ChunkHeader {
  return {
    jobId,
    step: 12,
    attempt: 3,
    bucketId: 2,
    phase: collectiveV1.Phase.PHASE_ALL_GATHER,
    ringStep: 1,
    segmentIndex: 2,
    offset: 4096,
    dtype: collectiveV1.DType.DTYPE_F32,
  };
}

function values(elements: number): Float32Array {
  return Float32Array.from({ length: elements }, (_, i) => i / 7);
}

/** The chunk as the generated types spell it. */
function chunk(elements: number, jobId = 'run-1'): collectiveV1.GradientChunk {
  return { ...header(jobId), payload: Buffer.from(values(elements).buffer), alignment: Buffer.alloc(0) };
}

function encode(elements: number, jobId = 'run-1'): Buffer {
  return new ChunkEncoder().encode(header(jobId), values(elements), 'f32');
}

/** What grpc-js hands a deserializer: the message inside its reassembled gRPC frame (flag, length). */
function received(message: Buffer): Buffer {
  const frame = Buffer.alloc(GRPC_FRAME_HEADER_BYTES + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, GRPC_FRAME_HEADER_BYTES);
  return frame.subarray(GRPC_FRAME_HEADER_BYTES);
}

describe('GradientChunk codec', () => {
  it.each([1, 3, 100, 5_000])('round-trips %i elements, readable by the generated decoder', (n) => {
    for (const jobId of ['r', 'run-with-a-longer-id', 'x'.repeat(200)]) {
      const original = chunk(n, jobId);
      const wire = encode(n, jobId);
      const generic = collectiveV1.GradientChunk.decode(wire);
      expect({ ...generic, alignment: Buffer.alloc(0) }).toEqual(original);
      expect(generic.alignment.every((b) => b === 0)).toBe(true);
      expect(decodeGradientChunk(received(wire))).toEqual(original);
    }
  });

  it('leaves the payload in the received buffer, 4-byte aligned, so f32 is read in place', () => {
    for (const jobId of ['r', 'ru', 'run', 'run-', 'run-1234567']) {
      const message = received(encode(1 << 18, jobId));
      const decoded = decodeGradientChunk(message);
      expect(decoded.payload.buffer).toBe(message.buffer); // a view, not a copy
      expect(decoded.payload.byteOffset % 4).toBe(0);
      const { values } = decodePayload(decoded.payload, 'f32', new Float32Array(0));
      expect(values.buffer).toBe(message.buffer);
      expect(values[7]).toBeCloseTo(1, 6);
    }
  });

  it('places the payload as the values lie in their buffer, modulo 8, on both ends', () => {
    const flat = new Float32Array(new SharedArrayBuffer(4 * 1024));
    for (const jobId of ['r', 'ru', 'run', 'run-', 'run-1234567']) {
      for (const offset of [0, 1, 2, 3, 501]) {
        const slice = flat.subarray(offset, offset + 100);
        const sent = new ChunkEncoder().encode(header(jobId), slice, 'f32');
        const sentPayload = decodeGradientChunk(sent).payload;
        expect(sentPayload.byteOffset % 8).toBe(slice.byteOffset % 8);
        const receivedPayload = decodeGradientChunk(received(sent)).payload;
        expect(receivedPayload.byteOffset % 8).toBe(slice.byteOffset % 8);
      }
    }
  });

  it('reads messages of the generated encoder too (payload not last, no alignment)', () => {
    const original = chunk(10);
    const wire = Buffer.from(collectiveV1.GradientChunk.encode(original).finish());
    expect(decodeGradientChunk(wire)).toEqual(original);
  });

  it('encodes bf16 as the rounded upper halves, as the generated encoder would', () => {
    const x = values(1001);
    const bf16 = new Uint16Array(x.length);
    f32ToBf16(x, bf16);
    const bf16Header = { ...header(), dtype: collectiveV1.DType.DTYPE_BF16 };
    const decoded = collectiveV1.GradientChunk.decode(new ChunkEncoder().encode(bf16Header, x, 'bf16'));
    expect({ ...decoded, alignment: Buffer.alloc(0) }).toEqual({
      ...bf16Header,
      payload: Buffer.from(bf16.buffer),
      alignment: Buffer.alloc(0),
    });
  });

  it('reuses released buffers, and only its own', () => {
    const encoder = new ChunkEncoder({ maxPooledBytes: 2 * 64 * 1024 }); // two small (64 KiB) buffers
    const first = encoder.encode(header(), values(1000), 'f32');
    encoder.release(first);
    encoder.release(first); // twice: still one free buffer
    const second = encoder.encode(header('other-run'), values(999), 'f32');
    expect(second.buffer).toBe(first.buffer);
    const third = encoder.encode(header(), values(1000), 'f32');
    expect(third.buffer).not.toBe(second.buffer); // the only free one is in use
    encoder.release(Buffer.from(values(1000).buffer)); // not its own: ignored
    const fourth = encoder.encode(header(), values(1000), 'f32');
    expect([second.buffer, third.buffer]).not.toContain(fourth.buffer);
    expect(collectiveV1.GradientChunk.decode(second).jobId).toBe('other-run');
  });

  it('keeps at most maxPooledBytes of free buffers', () => {
    const encoder = new ChunkEncoder({ maxPooledBytes: 64 * 1024 }); // one small buffer
    const [a, b] = [encoder.encode(header(), values(10), 'f32'), encoder.encode(header(), values(10), 'f32')];
    encoder.release(a);
    encoder.release(b); // pool full: dropped
    expect(encoder.encode(header(), values(10), 'f32').buffer).toBe(a.buffer);
    expect(encoder.encode(header(), values(10), 'f32').buffer).not.toBe(b.buffer);
  });
});
