import * as fs from 'fs';
import * as path from 'path';
import { ShardError } from '../errors/shard-error';
import { MANIFEST_FILE } from '../manifest/manifest';
import { prepareShards } from '../prepare/prepare-shards';
import { flipByte, tempDir } from '../test-utils/temp-dir';
import { ShardDataset } from './shard-dataset';

describe('ShardDataset', () => {
  const root = tempDir();
  const docs = Array.from(
    { length: 12 },
    (_, i) => `Document ${i}: ${'the whale and the sea '.repeat(i + 1)}`,
  );
  const dir = path.join(root, 'ds');
  let all: Uint16Array;
  beforeAll(async () => {
    await prepareShards({
      inputs: [{ name: 'mem', documents: docs }],
      outDir: dir,
      shardTokens: 25,
      threads: 0,
      valFraction: 0.25,
    });
    const ds = ShardDataset.open(dir);
    all = new Uint16Array(ds.length);
    for (let i = 0; i < ds.length; i++) ds.read(i, 1, all, i); // token by token: every read inside one shard
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  function copy(name: string): string {
    const to = path.join(root, name);
    fs.cpSync(dir, to, { recursive: true });
    return to;
  }

  it('reads any range across shard boundaries, and the train/validation parts', () => {
    const ds = ShardDataset.open(dir);
    expect(ds.manifest.shards.length).toBeGreaterThan(5);
    for (const [start, count] of [
      [0, ds.length],
      [20, 40],
      [24, 2],
      [25, 25],
      [ds.length - 3, 3],
    ]) {
      const out = new Int32Array(count);
      ds.read(start, count, out);
      expect(Array.from(out)).toEqual(Array.from(all.subarray(start, start + count)));
    }
    const train = ds.split('train');
    const val = ds.split('validation');
    expect(train.length + val.length).toBe(ds.length);
    expect(train.length).toBe(Math.floor(0.75 * ds.length));
    const v = new Uint16Array(val.length);
    val.read(0, val.length, v);
    expect(v).toEqual(all.subarray(train.length));
    expect(() => train.read(train.length - 1, 2, new Uint16Array(2))).toThrow(RangeError);
  });

  it('rejects a shard with a flipped byte, naming the file, the problem and the fix', () => {
    const bad = copy('flipped');
    flipByte(path.join(bad, 'shard_000002.bin'), 1024 + 7);
    const open = () => ShardDataset.open(bad);
    expect(open).toThrow(ShardError);
    expect(open).toThrow(
      /shard_000002\.bin: checksum mismatch: sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}; the shard is corrupt \(re-run `forge prepare` with the same --input and --out to rewrite it\)/,
    );
    expect(() => ShardDataset.open(bad, { verifyChecksums: false })).not.toThrow();
  });

  it('rejects a truncated or missing shard', () => {
    const bad = copy('truncated');
    fs.truncateSync(path.join(bad, 'shard_000001.bin'), 1024 + 10);
    expect(() => ShardDataset.open(bad, { verifyChecksums: false })).toThrow(
      /shard_000001\.bin: truncated: 1034 bytes, but its header says 25 tokens \(1074 bytes\)/,
    );
    fs.rmSync(path.join(bad, 'shard_000001.bin'));
    expect(() => ShardDataset.open(bad)).toThrow(/shard_000001\.bin: shard file not found/);
  });

  it('rejects a missing or malformed manifest, naming the field', () => {
    expect(() => ShardDataset.open(root)).toThrow(
      /manifest\.json: no dataset manifest here \(pass a folder written by `forge prepare`\)/,
    );
    const bad = copy('bad-manifest');
    const file = path.join(bad, MANIFEST_FILE);
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.shards[1].start = 7;
    fs.writeFileSync(file, JSON.stringify(manifest));
    expect(() => ShardDataset.open(bad)).toThrow(
      /field shards\[1\]\.start must be 25 \(the tokens of the shards before it\), got 7/,
    );
    fs.writeFileSync(file, '{"format": ');
    expect(() => ShardDataset.open(bad)).toThrow(/manifest\.json: not valid JSON/);
  });
});
