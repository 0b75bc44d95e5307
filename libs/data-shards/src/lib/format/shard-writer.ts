/**
 * Writes one shard atomically: tokens stream into `<file>.tmp` behind a placeholder header; on
 * {@link ShardWriter.finish} the real header is written, the file is fsynced, hashed and renamed to
 * `<file>`. A run killed mid-shard leaves only the `.tmp`, which the next run deletes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TEMP_SUFFIX, writeAll } from '../util/atomic-file';
import { sha256File } from '../util/sha256-file';
import { encodeShardHeader, shardBytes } from './shard-format';

/** A shard on disk, as the manifest records it. */
export interface WrittenShard {
  /** File name, relative to the dataset folder. */
  file: string;
  /** Tokens in the shard. */
  tokens: number;
  /** File size in bytes (1024 + 2·tokens). */
  bytes: number;
  /** Hex SHA-256 of the whole file, header included. */
  sha256: string;
}

/** Tokens buffered before each write (2 MiB). */
const BLOCK_TOKENS = 1 << 20;

/** One shard being written. Not reusable: make a new writer per shard. */
export class ShardWriter {
  private readonly tmp: string;
  private fd: number | undefined;
  private readonly block = new Uint16Array(BLOCK_TOKENS);
  private used = 0;
  private count = 0;

  /** Opens `<file>.tmp` for writing (replacing any stale one). */
  constructor(
    /** Final path of the shard. */
    readonly file: string,
    private readonly vocabSize: number,
    private readonly endOfTextId: number,
  ) {
    this.tmp = `${file}${TEMP_SUFFIX}`;
    this.fd = fs.openSync(this.tmp, 'w');
    writeAll(this.fd, encodeShardHeader({ tokens: 0, vocabSize, endOfTextId }));
  }

  /** Tokens appended so far. */
  get tokens(): number {
    return this.count;
  }

  /** Appends tokens (copied; the caller may reuse the array). */
  append(tokens: Uint16Array): void {
    for (let done = 0; done < tokens.length;) {
      const n = Math.min(tokens.length - done, BLOCK_TOKENS - this.used);
      this.block.set(tokens.subarray(done, done + n), this.used);
      this.used += n;
      done += n;
      if (this.used === BLOCK_TOKENS) this.flush();
    }
    this.count += tokens.length;
  }

  /** Writes the header, fsyncs, hashes and renames the shard into place; returns its record. */
  finish(): WrittenShard {
    const fd = this.open();
    this.flush();
    writeAll(
      fd,
      encodeShardHeader({ tokens: this.count, vocabSize: this.vocabSize, endOfTextId: this.endOfTextId }),
      0,
    );
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    this.fd = undefined;
    const sha256 = sha256File(this.tmp);
    fs.renameSync(this.tmp, this.file);
    return { file: path.basename(this.file), tokens: this.count, bytes: shardBytes(this.count), sha256 };
  }

  /** Closes and deletes the partial file (after an error or an interruption). */
  abort(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    fs.rmSync(this.tmp, { force: true });
  }

  private open(): number {
    if (this.fd === undefined) throw new Error(`shard writer for ${this.file} is already closed`);
    return this.fd;
  }

  private flush(): void {
    if (this.used === 0) return;
    // Tokens are little-endian on disk; every platform Node supports is little-endian.
    writeAll(this.open(), this.block.subarray(0, this.used));
    this.used = 0;
  }
}
