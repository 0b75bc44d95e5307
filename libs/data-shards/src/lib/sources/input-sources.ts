/**
 * What `prepare` reads: paths (a text file, a JSONL file, or a folder searched recursively for
 * both) and named in-memory documents (the CLI's built-in corpus). Resolved up front into a fixed,
 * sorted list of sources, so every run — and every resumed run — reads the same documents in the
 * same order.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PrepareError } from '../errors/prepare-error';

/** Documents already in memory, e.g. a built-in corpus. Each string is one document. */
export interface MemoryInput {
  /** Name recorded in the manifest, e.g. `builtin:moby-dick`. */
  name: string;
  /** The documents, in order. */
  documents: readonly string[];
}

/** One input of `prepare`: a file or folder path, or in-memory documents. */
export type PrepareInput = string | MemoryInput;

/** File extensions read as plain text, one document per file. */
export const TEXT_EXTENSIONS: readonly string[] = ['.txt', '.text', '.md', '.markdown', '.rst'];
/** File extensions read as JSON Lines, one document per line (its `text` field). */
export const JSONL_EXTENSIONS: readonly string[] = ['.jsonl', '.ndjson'];

/** A file to read. */
export interface FileSource {
  /** `text`: the whole file is one document; `jsonl`: one document per line. */
  kind: 'text' | 'jsonl';
  /** Path as shown in messages. */
  name: string;
  /** Absolute path. */
  path: string;
  /** Size in bytes when resolved. */
  bytes: number;
  /** Modification time when resolved (ms), to notice files changed between runs. */
  mtimeMs: number;
}

/** In-memory documents to read. */
export interface MemorySource {
  /** Always `memory`. */
  kind: 'memory';
  /** The input's name. */
  name: string;
  /** The documents. */
  documents: readonly string[];
  /** UTF-8 size of all documents. */
  bytes: number;
  /** Hex SHA-256 of the documents (each followed by a NUL), to notice changes between runs. */
  sha256: string;
}

/** A resolved input. */
export type ResolvedSource = FileSource | MemorySource;

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function kindOf(file: string): 'text' | 'jsonl' | undefined {
  const ext = path.extname(file).toLowerCase();
  if (JSONL_EXTENSIONS.includes(ext)) return 'jsonl';
  return TEXT_EXTENSIONS.includes(ext) ? 'text' : undefined;
}

/** Files under `dir` with a known extension, depth first in code-unit order; dot-entries and symlinked folders are skipped. */
function walk(dir: string, out: string[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodeUnits(a.name, b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if ((entry.isFile() || (entry.isSymbolicLink() && fs.statSync(full).isFile())) && kindOf(full))
      out.push(full);
  }
}

function fileSource(file: string, kind: 'text' | 'jsonl'): FileSource {
  const stat = fs.statSync(file);
  return { kind, name: file, path: path.resolve(file), bytes: stat.size, mtimeMs: stat.mtimeMs };
}

function memorySource(input: MemoryInput): MemorySource {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const doc of input.documents) {
    if (typeof doc !== 'string')
      throw new PrepareError(`input ${input.name} holds a document that is not a string`);
    hash.update(doc).update('\0');
    bytes += Buffer.byteLength(doc);
  }
  return { kind: 'memory', name: input.name, documents: input.documents, bytes, sha256: hash.digest('hex') };
}

/**
 * Resolves inputs into sources, in the order given (a folder's files in code-unit order of their
 * paths). A file given by name is read as JSONL when it ends in .jsonl/.ndjson and as text
 * otherwise. Throws a {@link PrepareError} for no inputs, a missing path, or a folder without text.
 */
export function resolveInputs(inputs: readonly PrepareInput[]): ResolvedSource[] {
  if (inputs.length === 0)
    throw new PrepareError('no inputs given', 'pass --input PATH (a file or folder) or builtin:moby-dick');
  const sources: ResolvedSource[] = [];
  for (const input of inputs) {
    if (typeof input !== 'string') {
      sources.push(memorySource(input));
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch {
      throw new PrepareError(`input not found: ${input}`, 'check the path');
    }
    if (stat.isDirectory()) {
      const files: string[] = [];
      walk(input, files);
      if (files.length === 0) {
        throw new PrepareError(
          `no text files in folder ${input}`,
          `looked for ${[...TEXT_EXTENSIONS, ...JSONL_EXTENSIONS].join(', ')}`,
        );
      }
      for (const file of files) sources.push(fileSource(file, kindOf(file) as 'text' | 'jsonl'));
    } else {
      sources.push(fileSource(input, kindOf(input) === 'jsonl' ? 'jsonl' : 'text'));
    }
  }
  return sources;
}

/** What identifies a source between runs (no document text): compared when resuming. */
export function sourceFingerprint(source: ResolvedSource): Record<string, string | number> {
  return source.kind === 'memory'
    ? { kind: source.kind, name: source.name, bytes: source.bytes, sha256: source.sha256 }
    : { kind: source.kind, path: source.path, bytes: source.bytes, mtime_ms: source.mtimeMs };
}
