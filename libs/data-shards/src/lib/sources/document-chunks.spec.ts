import * as fs from 'fs';
import * as path from 'path';
import { PrepareError } from '../errors/prepare-error';
import { tempDir, writeFiles } from '../test-utils/temp-dir';
import { type DocumentChunk, documentChunks } from './document-chunks';
import { resolveInputs } from './input-sources';

async function collect(iterable: AsyncIterable<DocumentChunk>): Promise<DocumentChunk[]> {
  const out: DocumentChunk[] = [];
  for await (const c of iterable) out.push(c);
  return out;
}

describe('inputs and the chunk stream', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeFiles(dir, {
    'corpus/b.txt': 'Second file.\n',
    'corpus/a.md': '\ufeffFirst file, with a BOM.',
    'corpus/sub/c.jsonl': '{"text": "line one"}\n\n{"text": "   "}\n{"text": "line four", "id": 4}\n',
    'corpus/skip.csv': 'not,text',
    'corpus/.hidden.txt': 'hidden',
    'corpus/blank.txt': ' \n\t\n',
    'empty/readme.csv': 'x',
    'bad.jsonl': '{"text": "ok"}\n{"text": 3}\n',
    'broken.jsonl': '{"text": "ok"}\n{"text": \n',
    'long.txt': 'word '.repeat(1000),
  });

  it('walks folders in code-unit order, reading known extensions and skipping dot-files', () => {
    const sources = resolveInputs([path.join(dir, 'corpus')]);
    expect(sources.map((s) => [path.relative(dir, s.name), s.kind])).toEqual([
      ['corpus/a.md', 'text'],
      ['corpus/b.txt', 'text'],
      ['corpus/blank.txt', 'text'],
      ['corpus/sub/c.jsonl', 'jsonl'],
    ]);
    expect(sources[1].bytes).toBe(13);
  });

  it('streams one document per text file and per JSONL line, skipping blank ones, BOM stripped', async () => {
    const chunks = await collect(documentChunks(resolveInputs([path.join(dir, 'corpus')]), 1000));
    expect(chunks.map((c) => c.text)).toEqual([
      'First file, with a BOM.',
      'Second file.\n',
      'line one',
      'line four',
    ]);
    expect(chunks.map((c) => [c.source, c.item, c.chunk, c.documents, c.separatorFirst])).toEqual([
      [0, 0, 0, 0, false],
      [1, 0, 0, 1, true],
      [3, 0, 0, 2, true],
      [3, 3, 0, 3, true],
    ]);
  });

  it('cuts long documents into chunks and can start at any chunk', async () => {
    const sources = resolveInputs([path.join(dir, 'long.txt'), { name: 'mem', documents: ['a b', 'c d'] }]);
    const all = await collect(documentChunks(sources, 64));
    expect(
      all
        .filter((c) => c.source === 0)
        .map((c) => c.text)
        .join(''),
    ).toBe('word '.repeat(1000));
    expect(Math.max(...all.map((c) => c.text.length))).toBeLessThanOrEqual(64);
    for (const k of [0, 5, all.length - 2, all.length - 1]) {
      const from = all[k];
      const rest = await collect(documentChunks(sources, 64, from));
      expect(rest).toEqual(all.slice(k));
    }
  });

  it('rejects missing paths, folders without text and malformed JSONL with one clear message', async () => {
    expect(() => resolveInputs([path.join(dir, 'nope.txt')])).toThrow(
      new PrepareError(`input not found: ${path.join(dir, 'nope.txt')}`, 'check the path'),
    );
    expect(() => resolveInputs([path.join(dir, 'empty')])).toThrow(
      /no text files in folder .*empty \(looked for \.txt/,
    );
    expect(() => resolveInputs([])).toThrow(/no inputs given/);
    await expect(collect(documentChunks(resolveInputs([path.join(dir, 'bad.jsonl')]), 100))).rejects.toThrow(
      /bad\.jsonl:2: no string "text" field/,
    );
    await expect(
      collect(documentChunks(resolveInputs([path.join(dir, 'broken.jsonl')]), 100)),
    ).rejects.toThrow(/broken\.jsonl:2: not valid JSON/);
  });
});
