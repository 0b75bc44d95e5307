import { collectiveV1 } from '@llm-forge/proto';
import { decodeGradientChunk, decodePayload, encodeGradientChunk } from './chunk-codec';

function chunk(elements: number, runId = 'run-1'): collectiveV1.GradientChunk {
  const values = Float32Array.from({ length: elements }, (_, i) => i / 7);
  return {
    runId,
    step: 12,
    attempt: 3,
    bucketId: 2,
    phase: collectiveV1.Phase.PHASE_ALL_GATHER,
    ringStep: 1,
    segmentIndex: 2,
    offset: 4096,
    dtype: collectiveV1.DType.DTYPE_F32,
    payload: Buffer.from(values.buffer),
    alignment: Buffer.alloc(0),
  };
}

/** What grpc-js hands a deserializer: the gRPC frame (flag, length, message) reassembled, message at 5. */
function received(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message], message.length + 5).subarray(5);
}

describe('GradientChunk codec', () => {
  it.each([1, 3, 100, 5_000])('round-trips %i elements, readable by the generated decoder', (n) => {
    for (const runId of ['r', 'run-with-a-longer-id', 'x'.repeat(200)]) {
      const original = chunk(n, runId);
      const wire = encodeGradientChunk(original);
      const generic = collectiveV1.GradientChunk.decode(wire);
      expect({ ...generic, alignment: Buffer.alloc(0) }).toEqual(original);
      expect(generic.alignment.every((b) => b === 0)).toBe(true);
      expect(decodeGradientChunk(received(wire))).toEqual(original);
    }
  });

  it('leaves the payload in the received buffer, 4-byte aligned, so f32 is read in place', () => {
    for (const runId of ['r', 'ru', 'run', 'run-', 'run-1234567']) {
      const message = received(encodeGradientChunk(chunk(1 << 18, runId)));
      const decoded = decodeGradientChunk(message);
      expect(decoded.payload.buffer).toBe(message.buffer); // a view, not a copy
      expect(decoded.payload.byteOffset % 4).toBe(0);
      const { values } = decodePayload(decoded.payload, 'f32', new Float32Array(0));
      expect(values.buffer).toBe(message.buffer);
      expect(values[7]).toBeCloseTo(1, 6);
    }
  });

  it('reads messages of the generated encoder too (payload not last, no alignment)', () => {
    const original = chunk(10);
    const wire = Buffer.from(collectiveV1.GradientChunk.encode(original).finish());
    expect(decodeGradientChunk(wire)).toEqual(original);
  });
});
