/**
 * `manifest.json`: what a prepared dataset holds — tokenizer, shards with sizes and checksums, and
 * the train/validation split. Written last, atomically, by `prepare`: a folder with a manifest is a
 * complete dataset. Field names are snake_case, as in other on-disk ML metadata.
 */
import { writeTextFileAtomic } from '@llm-forge/gpt';
import * as fs from 'fs';
import * as path from 'path';
import { ShardError } from '../errors/shard-error';
import { SHARD_HEADER_BYTES, shardBytes } from '../format/shard-format';
import type { StreamSplit, TokenRange } from './train-validation-split';

/** File name of the manifest inside a dataset folder. */
export const MANIFEST_FILE = 'manifest.json';
/** Value of the manifest's `format` field. */
export const MANIFEST_FORMAT = 'llm-forge-token-shards';
/** Manifest schema version written and accepted. */
export const MANIFEST_VERSION = 1;

/** The tokenizer that produced the shards. */
export interface ManifestTokenizer {
  /** `gpt2`: GPT-2 BPE (js-tiktoken's gpt2 ranks). */
  name: 'gpt2';
  /** 50257. */
  vocab_size: number;
  /** 50256, `<|endoftext|>`, written between documents. */
  eot_token: number;
}

/** One shard, as listed in the manifest (in stream order). */
export interface ManifestShard {
  /** File name relative to the dataset folder, e.g. `shard_000000.bin`. */
  file: string;
  /** Token count. */
  tokens: number;
  /** File size: 1024 + 2·tokens. */
  bytes: number;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  /** Index of the shard's first token in the whole token stream. */
  start: number;
}

/** The contents of `manifest.json`. */
export interface DatasetManifest {
  /** Always {@link MANIFEST_FORMAT}. */
  format: typeof MANIFEST_FORMAT;
  /** Always {@link MANIFEST_VERSION}. */
  version: number;
  /** The tokenizer. */
  tokenizer: ManifestTokenizer;
  /** Token type on disk: `uint16`. */
  dtype: 'uint16';
  /** Header bytes before the tokens of every shard: 1024. */
  header_bytes: number;
  /** The --shard-tokens the dataset was prepared with (every shard but the last holds that many). */
  shard_tokens: number;
  /** Tokens in all shards. */
  total_tokens: number;
  /** Non-empty documents tokenized. */
  documents: number;
  /** The inputs as given to `prepare` (paths, or `builtin:<name>`). */
  inputs: string[];
  /** The shards, in stream order. */
  shards: ManifestShard[];
  /** The train/validation split of the stream. */
  split: StreamSplit;
}

type Json = Record<string, unknown>;

function fail(file: string, field: string, expectation: string, value: unknown): never {
  throw new ShardError(
    file,
    'manifest',
    `field ${field} must be ${expectation}, got ${JSON.stringify(value)}`,
  );
}

function count(file: string, o: Json, key: string, prefix = ''): number {
  const v = o[key];
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(file, prefix + key, 'an integer >= 0', v);
  return v as number;
}

function object(file: string, o: Json, key: string): Json {
  const v = o[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(file, key, 'an object', v);
  return v as Json;
}

function range(file: string, split: Json, key: string): TokenRange {
  const r = object(file, split, key);
  const out = {
    start: count(file, r, 'start', `split.${key}.`),
    end: count(file, r, 'end', `split.${key}.`),
  };
  if (out.end < out.start) fail(file, `split.${key}.end`, `>= start (${out.start})`, out.end);
  return { ...out, tokens: out.end - out.start };
}

function shard(file: string, v: unknown, i: number): ManifestShard {
  const at = `shards[${i}].`;
  if (v === null || typeof v !== 'object') fail(file, `shards[${i}]`, 'an object', v);
  const o = v as Json;
  if (typeof o.file !== 'string' || o.file !== path.basename(o.file) || o.file === '') {
    fail(file, `${at}file`, 'a file name in the dataset folder', o.file);
  }
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256))
    fail(file, `${at}sha256`, 'a hex SHA-256', o.sha256);
  const tokens = count(file, o, 'tokens', at);
  const bytes = count(file, o, 'bytes', at);
  if (bytes !== shardBytes(tokens))
    fail(file, `${at}bytes`, `${shardBytes(tokens)} for ${tokens} tokens`, bytes);
  return {
    file: o.file as string,
    tokens,
    bytes,
    sha256: o.sha256 as string,
    start: count(file, o, 'start', at),
  };
}

/** Checks parsed JSON against the schema; throws a ShardError naming the field and value. */
export function parseManifest(json: unknown, file: string): DatasetManifest {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    fail(file, '(root)', 'an object', json);
  const o = json as Json;
  if (o.format !== MANIFEST_FORMAT) fail(file, 'format', JSON.stringify(MANIFEST_FORMAT), o.format);
  if (o.version !== MANIFEST_VERSION) fail(file, 'version', String(MANIFEST_VERSION), o.version);
  if (o.dtype !== 'uint16') fail(file, 'dtype', '"uint16"', o.dtype);
  if (o.header_bytes !== SHARD_HEADER_BYTES)
    fail(file, 'header_bytes', String(SHARD_HEADER_BYTES), o.header_bytes);
  const tok = object(file, o, 'tokenizer');
  if (tok.name !== 'gpt2') fail(file, 'tokenizer.name', '"gpt2"', tok.name);
  const tokenizer: ManifestTokenizer = {
    name: 'gpt2',
    vocab_size: count(file, tok, 'vocab_size', 'tokenizer.'),
    eot_token: count(file, tok, 'eot_token', 'tokenizer.'),
  };
  if (!Array.isArray(o.inputs) || !o.inputs.every((s) => typeof s === 'string'))
    fail(file, 'inputs', 'a list of strings', o.inputs);
  if (!Array.isArray(o.shards)) fail(file, 'shards', 'a list', o.shards);
  const shards = o.shards.map((s, i) => shard(file, s, i));
  const total = count(file, o, 'total_tokens');
  let start = 0;
  shards.forEach((s, i) => {
    if (s.start !== start)
      fail(file, `shards[${i}].start`, `${start} (the tokens of the shards before it)`, s.start);
    start += s.tokens;
  });
  if (start !== total) fail(file, 'total_tokens', `${start} (the sum of the shards' tokens)`, total);
  const sp = object(file, o, 'split');
  if (sp.method !== 'tail-tokens') fail(file, 'split.method', '"tail-tokens"', sp.method);
  const valFraction = sp.val_fraction;
  if (typeof valFraction !== 'number' || valFraction < 0 || valFraction >= 1)
    fail(file, 'split.val_fraction', 'in [0, 1)', valFraction);
  const train = range(file, sp, 'train');
  const validation = range(file, sp, 'validation');
  if (train.start !== 0 || train.end !== validation.start || validation.end !== total) {
    fail(file, 'split', `train [0, k) and validation [k, ${total}) covering the stream`, sp);
  }
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tokenizer,
    dtype: 'uint16',
    header_bytes: SHARD_HEADER_BYTES,
    shard_tokens: count(file, o, 'shard_tokens'),
    total_tokens: total,
    documents: count(file, o, 'documents'),
    inputs: o.inputs as string[],
    shards,
    split: { method: 'tail-tokens', val_fraction: valFraction, train, validation },
  };
}

/**
 * Reads and checks `<dir>/manifest.json`. A folder with `prepare`'s progress file but no manifest is
 * an unfinished dataset, reported as such.
 */
export function readManifest(dir: string, progressFile?: string): DatasetManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    if (progressFile && fs.existsSync(path.join(dir, progressFile))) {
      throw new ShardError(
        dir,
        'incomplete',
        'the dataset is unfinished (prepare was interrupted)',
        're-run `forge prepare` with the same --input and --out to finish it',
      );
    }
    throw new ShardError(
      file,
      'missing',
      'no dataset manifest here',
      'pass a folder written by `forge prepare`',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ShardError(file, 'manifest', `not valid JSON (${(error as Error).message})`);
  }
  return parseManifest(json, file);
}

/** Writes `<dir>/manifest.json` atomically. */
export function writeManifest(dir: string, manifest: DatasetManifest): void {
  writeTextFileAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
