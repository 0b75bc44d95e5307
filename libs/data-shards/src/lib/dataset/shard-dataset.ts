/**
 * A prepared dataset opened for reading: the manifest, every shard verified (header, size, token
 * count and — by default — SHA-256), and the token stream read lazily by range, across shard
 * boundaries, as one sequence split into train and validation parts.
 */
import * as path from 'path';
import { ShardError } from '../errors/shard-error';
import { ShardFile } from '../format/shard-file';
import { type DatasetManifest, readManifest } from '../manifest/manifest';
import type { TokenRange } from '../manifest/train-validation-split';
import { STATE_FILE } from '../prepare/prepare-state';
import { checkRange, type TokenStream } from './token-stream';

/** The two parts of a dataset. */
export type SplitName = 'train' | 'validation';

/** Options of {@link ShardDataset.open}. */
export interface OpenDatasetOptions {
  /** Hash every shard against the manifest on open (reads the dataset once). @defaultValue true */
  verifyChecksums?: boolean;
}

class RangeStream implements TokenStream {
  constructor(
    private readonly dataset: ShardDataset,
    private readonly range: TokenRange,
  ) {}

  get length(): number {
    return this.range.tokens;
  }

  read(start: number, count: number, into: Uint16Array | Int32Array, offset = 0): void {
    checkRange(start, count, this.length, into.length, offset);
    this.dataset.read(this.range.start + start, count, into, offset);
  }
}

/** A verified dataset folder written by `prepare`. */
export class ShardDataset implements TokenStream {
  private constructor(
    /** The dataset folder. */
    readonly dir: string,
    /** Its manifest. */
    readonly manifest: DatasetManifest,
    private readonly shards: readonly ShardFile[],
  ) {}

  /**
   * Opens a dataset folder. Throws a {@link ShardError} naming the file when the manifest is missing
   * or malformed, the dataset is unfinished, or a shard is missing, truncated or corrupt.
   */
  static open(dir: string, options: OpenDatasetOptions = {}): ShardDataset {
    const manifest = readManifest(dir, STATE_FILE);
    const shards = manifest.shards.map((s) => {
      const file = path.join(dir, s.file);
      const shard = ShardFile.open(file, { expected: s, verifyChecksum: options.verifyChecksums ?? true });
      if (shard.header.vocabSize !== manifest.tokenizer.vocab_size) {
        throw new ShardError(
          file,
          'header',
          `vocabulary size ${shard.header.vocabSize}, the manifest says ${manifest.tokenizer.vocab_size}`,
        );
      }
      return shard;
    });
    return new ShardDataset(dir, manifest, shards);
  }

  /** Tokens in all shards. */
  get length(): number {
    return this.manifest.total_tokens;
  }

  /** The train or validation part as its own stream (token 0 = the part's first token). */
  split(name: SplitName): TokenStream {
    return new RangeStream(this, this.manifest.split[name]);
  }

  /** Reads tokens [start, start + count) of the whole stream, across shards. */
  read(start: number, count: number, into: Uint16Array | Int32Array, offset = 0): void {
    checkRange(start, count, this.length, into.length, offset);
    let i = this.shardAt(start);
    let at = start;
    let done = 0;
    while (done < count) {
      const meta = this.manifest.shards[i];
      const n = Math.min(count - done, meta.start + meta.tokens - at);
      if (into instanceof Uint16Array) {
        this.shards[i].read(at - meta.start, n, into, offset + done);
      } else {
        into.set(this.shards[i].read(at - meta.start, n), offset + done);
      }
      done += n;
      at += n;
      i++;
    }
  }

  /** Index of the shard holding token `position` (binary search over shard starts). */
  private shardAt(position: number): number {
    const shards = this.manifest.shards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (shards[mid].start <= position) lo = mid;
      else hi = mid - 1;
    }
    // Skip empty shards (none are written, but a manifest may list one).
    while (lo < shards.length - 1 && shards[lo].start + shards[lo].tokens <= position) lo++;
    return lo;
  }
}
