import * as fs from 'fs';
import * as path from 'path';
import { ShardError } from '../errors/shard-error';
import { flipByte, tempDir } from '../test-utils/temp-dir';
import { sha256File } from '../util/sha256-file';
import { ShardFile } from './shard-file';
import { shardBytes } from './shard-format';
import { ShardWriter } from './shard-writer';

describe('ShardWriter and ShardFile', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tokens = Uint16Array.from({ length: 3_000_000 }, (_, i) => (i * 7919) % 50257); // spans several write blocks

  function write(name: string, data: Uint16Array = tokens) {
    const writer = new ShardWriter(path.join(dir, name), 50257, 50256);
    writer.append(data.subarray(0, 5));
    writer.append(data.subarray(5));
    return writer.finish();
  }

  it('round-trips tokens, with size, sha256 and header as recorded', () => {
    const shard = write('a.bin');
    const file = path.join(dir, 'a.bin');
    expect(shard).toEqual({
      file: 'a.bin',
      tokens: tokens.length,
      bytes: shardBytes(tokens.length),
      sha256: sha256File(file),
    });
    expect(fs.statSync(file).size).toBe(shard.bytes);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    const read = ShardFile.open(file, { expected: shard });
    expect(read.tokens).toBe(tokens.length);
    expect(Buffer.from(read.readAll().buffer).equals(Buffer.from(tokens.buffer))).toBe(true);
    expect(Array.from(read.read(2_999_990, 10))).toEqual(Array.from(tokens.subarray(2_999_990)));
    const into = new Uint16Array(8);
    read.read(100, 4, into, 2);
    expect(Array.from(into)).toEqual([0, 0, ...Array.from(tokens.subarray(100, 104)), 0, 0]);
    expect(() => read.read(2_999_999, 2)).toThrow(RangeError);
  });

  it('writes under <file>.tmp until finished, and abort removes it', () => {
    const file = path.join(dir, 'b.bin');
    const writer = new ShardWriter(file, 50257, 50256);
    writer.append(tokens.subarray(0, 10));
    expect(fs.existsSync(`${file}.tmp`)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    writer.abort();
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('rejects a flipped byte with a checksum error naming the file and the fix', () => {
    const shard = write('c.bin', tokens.subarray(0, 1000));
    const file = path.join(dir, 'c.bin');
    flipByte(file, 1024 + 501);
    const open = () => ShardFile.open(file, { expected: shard });
    expect(open).toThrow(ShardError);
    expect(open).toThrow(new RegExp(`${file}: checksum mismatch.*re-run \`forge prepare\``));
    expect(() => ShardFile.open(file, { expected: shard, verifyChecksum: false })).not.toThrow();
    try {
      open();
    } catch (error) {
      expect((error as ShardError).problem).toBe('checksum');
      expect((error as ShardError).file).toBe(file);
    }
  });

  it('rejects a truncated shard with a size error, and a missing one', () => {
    const shard = write('d.bin', tokens.subarray(0, 1000));
    const file = path.join(dir, 'd.bin');
    fs.truncateSync(file, shard.bytes - 3);
    expect(() => ShardFile.open(file, { expected: shard })).toThrow(
      /d\.bin: truncated: 3021 bytes, but its header says 1000 tokens \(3024 bytes\)/,
    );
    expect(() => ShardFile.open(path.join(dir, 'none.bin'))).toThrow(/none\.bin: shard file not found/);
  });

  it('rejects a shard whose count differs from the manifest', () => {
    const shard = write('e.bin', tokens.subarray(0, 10));
    expect(() => ShardFile.open(path.join(dir, 'e.bin'), { expected: { ...shard, tokens: 11 } })).toThrow(
      /holds 10 tokens, the manifest says 11/,
    );
  });
});
