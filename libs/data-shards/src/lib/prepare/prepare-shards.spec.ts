import * as fs from 'fs';
import * as path from 'path';
import { createTokenizer, END_OF_TEXT_ID } from '@llm-forge/gpt';
import { ShardDataset } from '../dataset/shard-dataset';
import { PrepareError } from '../errors/prepare-error';
import { shardBytes } from '../format/shard-format';
import { MANIFEST_FILE, readManifest } from '../manifest/manifest';
import { flipByte, tempDir, writeFiles } from '../test-utils/temp-dir';
import { sha256File } from '../util/sha256-file';
import { prepareShards } from './prepare-shards';
import type { PrepareOptions } from './prepare-options';
import { STATE_FILE } from './prepare-state';

const PARAGRAPH =
  'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, ';
const DOCS: Record<string, string> = {
  'a.txt': `${PARAGRAPH.repeat(6)}\n\nThere now is your insular city of the Manhattoes.\n`,
  'b/c.md': '# Loomings\n\nWhenever I find myself growing grim about the mouth…',
  'b/d.jsonl': `${JSON.stringify({ text: 'First line document.' })}\n${JSON.stringify({ text: PARAGRAPH.repeat(3) })}\n`,
};
/** The documents in prepare's order: folder walk in code-unit order, JSONL line by line. */
const ORDER = [DOCS['a.txt'], DOCS['b/c.md'], 'First line document.', PARAGRAPH.repeat(3)];

function expectedStream(): number[] {
  const tokenizer = createTokenizer();
  return ORDER.flatMap((doc, i) => [...(i > 0 ? [END_OF_TEXT_ID] : []), ...tokenizer.encode(doc)]);
}

function readStream(dir: string): number[] {
  const dataset = ShardDataset.open(dir);
  const ids = new Uint16Array(dataset.length);
  dataset.read(0, dataset.length, ids);
  return Array.from(ids);
}

function mtimes(dir: string, files: string[]): number[] {
  return files.map((f) => fs.statSync(path.join(dir, f)).mtimeMs);
}

describe('prepareShards', () => {
  const root = tempDir();
  const corpus = path.join(root, 'corpus');
  writeFiles(corpus, DOCS);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const base = (out: string, extra: Partial<PrepareOptions> = {}): PrepareOptions => ({
    inputs: [corpus],
    outDir: path.join(root, out),
    shardTokens: 40,
    chunkChars: 64,
    threads: 2,
    ...extra,
  });

  it('round-trips a folder of .txt/.md/.jsonl files through shards, separated by <|endoftext|>', async () => {
    const summary = await prepareShards(base('round-trip'));
    const dir = path.join(root, 'round-trip');
    const expected = expectedStream();
    expect(readStream(dir)).toEqual(expected);
    const m = readManifest(dir);
    expect(summary.manifest).toEqual(m);
    expect(m.tokenizer).toEqual({ name: 'gpt2', vocab_size: 50257, eot_token: 50256 });
    expect(m.total_tokens).toBe(expected.length);
    expect(m.documents).toBe(4);
    expect(m.inputs).toEqual([corpus]);
    expect(m.shards.length).toBe(Math.ceil(expected.length / 40));
    m.shards.forEach((s, i) => {
      expect(s.file).toBe(`shard_${String(i).padStart(6, '0')}.bin`);
      expect(s.start).toBe(40 * i);
      expect(s.tokens).toBe(i < m.shards.length - 1 ? 40 : expected.length - 40 * i);
      expect(s.bytes).toBe(shardBytes(s.tokens));
      expect(s.sha256).toBe(sha256File(path.join(dir, s.file)));
    });
    const trainEnd = Math.floor(0.9 * expected.length);
    expect(m.split).toEqual({
      method: 'tail-tokens',
      val_fraction: 0.1,
      train: { start: 0, end: trainEnd, tokens: trainEnd },
      validation: { start: trainEnd, end: expected.length, tokens: expected.length - trainEnd },
    });
    expect(summary.newTokens).toBe(expected.length);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the same bytes with 0, 1 or 3 threads and any chunk size', async () => {
    const reference = (await prepareShards(base('t0', { threads: 0 }))).manifest.shards;
    for (const [name, extra] of [
      ['t1', { threads: 1 }],
      ['t3', { threads: 3, chunkChars: 17 }],
    ] as const) {
      expect((await prepareShards(base(name, extra))).manifest.shards).toEqual(reference);
    }
  });

  it('continues an interrupted run after its verified shards, which stay untouched', async () => {
    const dir = path.join(root, 'interrupted');
    const controller = new AbortController();
    let written = 0;
    const stop = base('interrupted', {
      onShard: () => ++written === 2 && controller.abort(),
      signal: controller.signal,
    });
    await expect(prepareShards(stop)).rejects.toThrow(/interrupted; 2 finished shards are kept/);
    expect(fs.existsSync(path.join(dir, MANIFEST_FILE))).toBe(false);
    expect(() => ShardDataset.open(dir)).toThrow(/unfinished.*re-run `forge prepare`/);
    // A kill mid-shard leaves a partial temp file; a crash between rename and state update, a stray shard.
    fs.writeFileSync(path.join(dir, 'shard_000002.bin.tmp'), 'partial');
    fs.writeFileSync(path.join(dir, 'shard_000009.bin'), 'stray');
    // ... and a kill during an atomic text write (the manifest), its `<file>.tmp-XXXX`.
    fs.writeFileSync(path.join(dir, `${MANIFEST_FILE}.tmp-0a1b2c3d`), '{');
    const kept = ['shard_000000.bin', 'shard_000001.bin'];
    const before = mtimes(dir, kept);
    const summary = await prepareShards(base('interrupted'));
    expect(summary.resumedShards).toBe(2);
    expect(summary.newTokens).toBe(expectedStream().length - 80);
    expect(mtimes(dir, kept)).toEqual(before);
    expect(fs.existsSync(path.join(dir, 'shard_000002.bin.tmp'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'shard_000009.bin'))).toBe(false);
    expect(fs.existsSync(path.join(dir, `${MANIFEST_FILE}.tmp-0a1b2c3d`))).toBe(false);
    const fresh = readManifest(path.join(root, 'round-trip'));
    expect(summary.manifest.shards).toEqual(fresh.shards);
    expect(readStream(dir)).toEqual(expectedStream());
  });

  it('rewrites a corrupt shard of an earlier run and everything after it', async () => {
    const dir = path.join(root, 'interrupted');
    flipByte(path.join(dir, 'shard_000003.bin'), 1030);
    const before = mtimes(dir, ['shard_000000.bin', 'shard_000002.bin']);
    const summary = await prepareShards(base('interrupted'));
    expect(summary.resumedShards).toBe(3);
    expect(summary.droppedShards).toEqual([expect.stringMatching(/shard_000003\.bin: checksum mismatch/)]);
    expect(mtimes(dir, ['shard_000000.bin', 'shard_000002.bin'])).toEqual(before);
    expect(summary.manifest.shards).toEqual(readManifest(path.join(root, 'round-trip')).shards);
  });

  it('re-splits a finished dataset without touching its shards', async () => {
    const dir = path.join(root, 'round-trip');
    const before = mtimes(dir, ['shard_000000.bin']);
    const summary = await prepareShards(base('round-trip', { valFraction: 0 }));
    expect(summary.newTokens).toBe(0);
    expect(summary.resumedShards).toBe(summary.manifest.shards.length);
    expect(summary.manifest.split.validation.tokens).toBe(0);
    expect(mtimes(dir, ['shard_000000.bin'])).toEqual(before);
  });

  it('accepts in-memory documents (the built-in corpus)', async () => {
    const summary = await prepareShards({
      inputs: [{ name: 'builtin:test', documents: ORDER }],
      outDir: path.join(root, 'mem'),
      shardTokens: 1000,
      valFraction: 0,
    });
    expect(readStream(path.join(root, 'mem'))).toEqual(expectedStream());
    expect(summary.manifest.inputs).toEqual(['builtin:test']);
  });

  it('refuses other inputs, foreign folders, empty inputs and bad options with one clear message', async () => {
    await expect(prepareShards(base('round-trip', { shardTokens: 41 }))).rejects.toThrow(
      /holds a dataset of other inputs or options: it was prepared with --shard-tokens 40.*choose another --out/,
    );
    writeFiles(root, { 'foreign/notes.txt': 'mine' });
    await expect(prepareShards(base('foreign'))).rejects.toThrow(
      /foreign is not empty and holds no forge dataset/,
    );
    writeFiles(root, { 'blank/a.txt': '  \n\n', 'blank/b.txt': '' });
    await expect(prepareShards({ ...base('blank-out'), inputs: [path.join(root, 'blank')] })).rejects.toThrow(
      PrepareError,
    );
    await expect(prepareShards({ ...base('blank-out'), inputs: [path.join(root, 'blank')] })).rejects.toThrow(
      /no text found in the inputs/,
    );
    expect(fs.existsSync(path.join(root, 'blank-out'))).toBe(false); // a run that wrote nothing leaves nothing
    writeFiles(root, {
      'blank-out/prepare-state.json': JSON.stringify({
        format: 'llm-forge-prepare-state',
        version: 1,
        fingerprint: {},
        shards: [],
        complete: false,
        documents: 0,
      }),
    });
    await expect(prepareShards(base('blank-out'))).resolves.toMatchObject({ resumedShards: 0 }); // nor blocks another run
    await expect(prepareShards(base('x', { shardTokens: 0 }))).rejects.toThrow(
      /shardTokens must be an integer in \[1, 1000000000\], got 0 \(check --shard-tokens\)/,
    );
    await expect(prepareShards(base('x', { valFraction: 1 }))).rejects.toThrow(
      /valFraction must be a number in \[0, 1\), got 1/,
    );
    expect(fs.existsSync(path.join(root, 'x'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'round-trip', STATE_FILE), 'utf8')).complete).toBe(
      true,
    );
  });
});
