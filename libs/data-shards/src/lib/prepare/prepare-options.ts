/** Options of {@link prepareShards}, their defaults and their validation. */
import * as os from 'os';
import { PrepareError } from '../errors/prepare-error';
import { MAX_SHARD_TOKENS } from '../format/shard-format';
import type { ManifestShard } from '../manifest/manifest';
import { checkValFraction } from '../manifest/train-validation-split';
import type { PrepareInput } from '../sources/input-sources';
import { DEFAULT_CHUNK_CHARS } from '../sources/text-chunks';

/** Default tokens per shard: 100M tokens, a 200 MB file (llm.c's FineWeb shards are the same size). */
export const DEFAULT_SHARD_TOKENS = 100_000_000;
/** Default validation fraction. */
export const DEFAULT_VAL_FRACTION = 0.1;

/** Progress of a run, reported after every chunk. */
export interface PrepareProgress {
  /** Input bytes read so far (approximate: JSON syntax of JSONL lines counts with its line). */
  bytesDone: number;
  /** Input bytes in all sources. */
  bytesTotal: number;
  /** Tokens in shards so far, kept shards of an earlier run included. */
  tokens: number;
  /** Tokens tokenized by this run. */
  newTokens: number;
  /** Finished shards. */
  shards: number;
}

/** Options of {@link prepareShards}. */
export interface PrepareOptions {
  /** Files, folders (searched recursively for .txt/.md/.jsonl…) and in-memory documents, in order. */
  inputs: readonly PrepareInput[];
  /** Dataset folder; created when missing. A folder of an interrupted run with the same inputs is continued. */
  outDir: string;
  /** Fraction of the tokens, taken from the end of the stream, held out for validation. @defaultValue 0.1 */
  valFraction?: number;
  /** Tokens per shard (the last shard holds the rest), at most 1e9. @defaultValue 100,000,000 */
  shardTokens?: number;
  /** Tokenizer worker threads; 0 tokenizes in the calling thread. @defaultValue os.availableParallelism() */
  threads?: number;
  /** Longest chunk handed to the tokenizer, in UTF-16 code units (>= 16). @defaultValue 65536 */
  chunkChars?: number;
  /** Check the SHA-256 of the shards an earlier run left (else header and size only). @defaultValue true */
  verifyExisting?: boolean;
  /** Called after every chunk. */
  onProgress?: (progress: PrepareProgress) => void;
  /** Called after every finished shard. */
  onShard?: (shard: ManifestShard) => void;
  /** Stops the run between chunks: finished shards stay, the partial one is removed. */
  signal?: AbortSignal;
}

/** Options with every default applied. */
export type ResolvedPrepareOptions = Required<Omit<PrepareOptions, 'onProgress' | 'onShard' | 'signal'>> &
  Pick<PrepareOptions, 'onProgress' | 'onShard' | 'signal'>;

function integerIn(field: string, flag: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PrepareError(
      `${field} must be an integer in [${min}, ${max}], got ${String(value)}`,
      `check ${flag}`,
    );
  }
  return value;
}

/** Applies defaults and validates; errors name the field, the value and the flag. */
export function resolvePrepareOptions(options: PrepareOptions): ResolvedPrepareOptions {
  const valFraction = options.valFraction ?? DEFAULT_VAL_FRACTION;
  checkValFraction(valFraction);
  if (typeof options.outDir !== 'string' || options.outDir === '') {
    throw new PrepareError('outDir must be a folder path', 'pass --out DIR');
  }
  return {
    ...options,
    valFraction,
    shardTokens: integerIn(
      'shardTokens',
      '--shard-tokens',
      options.shardTokens ?? DEFAULT_SHARD_TOKENS,
      1,
      MAX_SHARD_TOKENS,
    ),
    threads: integerIn('threads', '--threads', options.threads ?? os.availableParallelism(), 0, 256),
    chunkChars: integerIn(
      'chunkChars',
      '--chunk-chars',
      options.chunkChars ?? DEFAULT_CHUNK_CHARS,
      16,
      1 << 26,
    ),
    verifyExisting: options.verifyExisting ?? true,
  };
}
