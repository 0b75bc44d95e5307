import { ShardError } from '../errors/shard-error';
import {
  decodeShardHeader,
  encodeShardHeader,
  SHARD_HEADER_BYTES,
  SHARD_MAGIC,
  shardBytes,
} from './shard-format';

describe('shard header', () => {
  it('is llm.c-compatible: 256 int32 words, magic 20240520, version 1, count, then our dtype/vocab/eot', () => {
    const bytes = encodeShardHeader({ tokens: 12345, vocabSize: 50257, endOfTextId: 50256 });
    expect(bytes.byteLength).toBe(SHARD_HEADER_BYTES);
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, 256);
    expect(Array.from(words.subarray(0, 6))).toEqual([SHARD_MAGIC, 1, 12345, 2, 50257, 50256]);
    expect(words.subarray(6).every((w) => w === 0)).toBe(true);
    expect(decodeShardHeader(bytes, 'x.bin', shardBytes(12345))).toEqual({
      version: 1,
      tokens: 12345,
      dtype: 'uint16',
      vocabSize: 50257,
      endOfTextId: 50256,
    });
  });

  it.each([
    ['magic', 0, 7, /x\.bin: not a token shard: magic 7/],
    ['version', 4, 2, /unsupported shard version 2/],
    ['dtype', 12, 4, /unsupported dtype: 4 bytes per token/],
    ['count', 8, -1, /negative token count/],
  ])('rejects a bad %s with a ShardError naming the file', (_, offset, value, message) => {
    const bytes = encodeShardHeader({ tokens: 3, vocabSize: 50257, endOfTextId: 50256 });
    bytes.writeInt32LE(value, offset);
    expect(() => decodeShardHeader(bytes, 'x.bin')).toThrow(message);
    expect(() => decodeShardHeader(bytes, 'x.bin')).toThrow(ShardError);
  });

  it('rejects a file whose size is not header + 2·count', () => {
    const bytes = encodeShardHeader({ tokens: 10, vocabSize: 50257, endOfTextId: 50256 });
    expect(() => decodeShardHeader(bytes, 'x.bin', shardBytes(10) - 1)).toThrow(
      /x\.bin: truncated: 1043 bytes, but its header says 10 tokens \(1044 bytes\)/,
    );
    expect(() => decodeShardHeader(bytes, 'x.bin', shardBytes(10) + 2)).toThrow(/too long/);
    expect(() => decodeShardHeader(bytes.subarray(0, 100), 'x.bin')).toThrow(
      /truncated: 100 bytes, shorter than the 1024-byte shard header/,
    );
  });
});
