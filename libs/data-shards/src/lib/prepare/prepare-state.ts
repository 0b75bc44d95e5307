/**
 * `prepare-state.json`: `prepare`'s own record, rewritten atomically after every finished shard,
 * so an interrupted run can be continued. It holds what identifies the run (inputs with sizes and
 * times, shard size, chunking), every finished shard with its checksum, and the cursor just past
 * it in the chunk stream. The public description of a finished dataset is `manifest.json`.
 */
import { writeTextFileAtomic } from '@llm-forge/gpt';
import * as fs from 'fs';
import * as path from 'path';
import { PrepareError } from '../errors/prepare-error';
import type { WrittenShard } from '../format/shard-writer';
import type { ChunkCursor } from '../sources/document-chunks';

/** File name of the state inside the dataset folder. */
export const STATE_FILE = 'prepare-state.json';
const STATE_FORMAT = 'llm-forge-prepare-state';

/** A position in the token stream: a chunk and how many of its tokens are already in shards. */
export interface TokenCursor extends ChunkCursor {
  /** Tokens of that chunk (its `<|endoftext|>` included) already written. */
  offset: number;
}

/** A finished shard and where the stream continues after it. */
export interface StateShard extends WrittenShard {
  /** Index of its first token in the stream. */
  start: number;
  /** The cursor of the token after its last. */
  next: TokenCursor;
}

/** What identifies a run; a resumed run must have the same. */
export interface RunFingerprint {
  /** Tokenizer name. */
  tokenizer: 'gpt2';
  /** Tokens per shard. */
  shard_tokens: number;
  /** Chunk length (cursors count chunks). */
  chunk_chars: number;
  /** Every source with size and time or hash. */
  sources: Array<Record<string, string | number>>;
}

/** The contents of `prepare-state.json`. */
export interface PrepareState {
  /** Always `llm-forge-prepare-state`. */
  format: typeof STATE_FORMAT;
  /** Always 1. */
  version: 1;
  /** What the shards were prepared from. */
  fingerprint: RunFingerprint;
  /** Finished shards, in order. */
  shards: StateShard[];
  /** True once the input is exhausted and the last shard written. */
  complete: boolean;
  /** Non-empty documents of the input (known when complete). */
  documents: number;
}

/** A new, empty state. */
export function emptyState(fingerprint: RunFingerprint): PrepareState {
  return { format: STATE_FORMAT, version: 1, fingerprint, shards: [], complete: false, documents: 0 };
}

/** Reads the state of `dir`; undefined when there is none. Throws a PrepareError when it is unreadable. */
export function readState(dir: string): PrepareState | undefined {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PrepareError(
      `${file}: unreadable (${(error as Error).message})`,
      'delete the folder to start over, or choose another --out',
    );
  }
  const s = state as Partial<PrepareState> | null;
  if (
    !s ||
    s.format !== STATE_FORMAT ||
    s.version !== 1 ||
    !Array.isArray(s.shards) ||
    typeof s.fingerprint !== 'object'
  ) {
    throw new PrepareError(
      `${file}: not a prepare state of this version`,
      'delete the folder to start over, or choose another --out',
    );
  }
  return s as PrepareState;
}

/** Writes the state of `dir` atomically. */
export function writeState(dir: string, state: PrepareState): void {
  writeTextFileAtomic(path.join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** True when two fingerprints describe the same run. */
export function sameFingerprint(a: RunFingerprint, b: RunFingerprint): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
