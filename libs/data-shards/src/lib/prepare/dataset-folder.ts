/**
 * The output folder of `prepare`: which files are ours, and what an earlier run left that can be
 * kept. Shards listed in `prepare-state.json` are verified in order (header, size, SHA-256); the
 * longest verified prefix is kept — files untouched — and everything after it, partial `.tmp` files
 * included, is removed, so the run continues right after the last good shard.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PrepareError } from '../errors/prepare-error';
import { ShardError } from '../errors/shard-error';
import { ShardFile } from '../format/shard-file';
import { MANIFEST_FILE } from '../manifest/manifest';
import { finalNameOfTemp } from '../util/atomic-file';
import {
  emptyState,
  type PrepareState,
  readState,
  type RunFingerprint,
  sameFingerprint,
  STATE_FILE,
  writeState,
} from './prepare-state';

const SHARD_FILE = /^shard_\d{6,}\.bin$/;

/** File name of shard `index`: `shard_000000.bin`, … */
export function shardFileName(index: number): string {
  return `shard_${String(index).padStart(6, '0')}.bin`;
}

function isOurs(name: string): boolean {
  const base = finalNameOfTemp(name) ?? name;
  return SHARD_FILE.test(base) || base === MANIFEST_FILE || base === STATE_FILE;
}

/** What an earlier run left. */
export interface FolderResume {
  /** The state to continue from (a new one when there was none). */
  state: PrepareState;
  /** Shards kept from the earlier run. */
  kept: number;
  /** Why shards of the earlier run were dropped (one line each), e.g. a checksum mismatch. */
  dropped: string[];
}

function differences(old: RunFingerprint, now: RunFingerprint): string {
  if (old.shard_tokens !== now.shard_tokens) return `it was prepared with --shard-tokens ${old.shard_tokens}`;
  if (old.chunk_chars !== now.chunk_chars)
    return `it was prepared with chunks of ${old.chunk_chars} characters`;
  if (old.sources.length !== now.sources.length)
    return `it was prepared from ${old.sources.length} input files, now ${now.sources.length}`;
  const i = old.sources.findIndex((s, k) => JSON.stringify(s) !== JSON.stringify(now.sources[k]));
  const name = (s: Record<string, string | number>) => String(s.path ?? s.name);
  return `input ${name(now.sources[i])} differs (${name(old.sources[i]) === name(now.sources[i]) ? 'changed since' : 'another file in'} the earlier run)`;
}

/**
 * Opens (creating it) the output folder for a run with `fingerprint` and returns what to continue
 * from. Throws a PrepareError when the folder is a file, holds foreign files but no dataset, or
 * holds a dataset of other inputs or options.
 */
export function openDatasetFolder(
  dir: string,
  fingerprint: RunFingerprint,
  verifyChecksums: boolean,
): FolderResume {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new PrepareError(`${dir} exists and is not a folder`, 'choose another --out');
  }
  fs.mkdirSync(dir, { recursive: true });
  const found = readState(dir);
  // A run that wrote no shard left nothing worth keeping: its inputs may differ.
  const old = found && (found.shards.length > 0 || found.complete) ? found : undefined;
  const entries = fs.readdirSync(dir);
  if (!old && entries.some((name) => !isOurs(name))) {
    throw new PrepareError(`${dir} is not empty and holds no forge dataset`, 'choose a new or empty --out');
  }
  if (old && !sameFingerprint(old.fingerprint, fingerprint)) {
    throw new PrepareError(
      `${dir} holds a dataset of other inputs or options: ${differences(old.fingerprint, fingerprint)}`,
      'choose another --out, or delete the folder to start over',
    );
  }
  const state = old ?? emptyState(fingerprint);
  const dropped: string[] = [];
  let kept = 0;
  for (const shard of state.shards) {
    try {
      ShardFile.open(path.join(dir, shard.file), { expected: shard, verifyChecksum: verifyChecksums });
    } catch (error) {
      if (!(error instanceof ShardError)) throw error;
      dropped.push(error.message);
      break;
    }
    kept++;
  }
  const done = state.complete && kept === state.shards.length;
  const keep = new Set(state.shards.slice(0, kept).map((s) => s.file));
  if (!done) fs.rmSync(path.join(dir, MANIFEST_FILE), { force: true }); // first: no manifest may point at changing shards
  for (const name of entries) {
    const partial = finalNameOfTemp(name) !== undefined;
    if (isOurs(name) && (partial || (SHARD_FILE.test(name) && !keep.has(name)))) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  if (!old || kept < state.shards.length) {
    const dirty = kept < state.shards.length;
    state.shards = state.shards.slice(0, kept);
    if (dirty) state.complete = false;
    writeState(dir, state);
  }
  return { state, kept, dropped };
}
