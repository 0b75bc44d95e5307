/**
 * Reading a shard: Node has no mmap, so the header is checked on open and token ranges are read
 * lazily with positioned reads (`fs.readSync`) into a Uint16Array. Opening verifies the header, that
 * the size is exactly header + 2·count, and, against the manifest, the count and the SHA-256.
 */
import * as fs from 'fs';
import { ShardError } from '../errors/shard-error';
import { readFully } from '../util/atomic-file';
import { sha256File } from '../util/sha256-file';
import { decodeShardHeader, SHARD_HEADER_BYTES, type ShardHeader, TOKEN_BYTES } from './shard-format';

/** What the manifest says about a shard; every given field is checked on open. */
export interface ShardExpectation {
  /** Token count. */
  tokens?: number;
  /** Hex SHA-256 of the whole file. */
  sha256?: string;
}

/** Options of {@link ShardFile.open}. */
export interface OpenShardOptions {
  /** The manifest's record of this shard. @defaultValue no expectation */
  expected?: ShardExpectation;
  /**
   * Hash the whole file and compare with `expected.sha256` (reads the shard once, ~1 GB/s).
   * Without it only the header and size are checked. @defaultValue true
   */
  verifyChecksum?: boolean;
}

/** One verified shard, read in ranges. */
export class ShardFile {
  private constructor(
    /** Path of the shard. */
    readonly file: string,
    /** Its decoded header. */
    readonly header: ShardHeader,
  ) {}

  /** Opens and verifies a shard; throws a {@link ShardError} naming the file and the problem. */
  static open(file: string, options: OpenShardOptions = {}): ShardFile {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new ShardError(file, 'missing', 'shard file not found');
    }
    const head = Buffer.alloc(Math.min(size, SHARD_HEADER_BYTES));
    const fd = fs.openSync(file, 'r');
    try {
      readFully(fd, head, 0);
    } finally {
      fs.closeSync(fd);
    }
    const header = decodeShardHeader(head, file, size);
    const expected = options.expected ?? {};
    if (expected.tokens !== undefined && expected.tokens !== header.tokens) {
      throw new ShardError(
        file,
        'size',
        `holds ${header.tokens} tokens, the manifest says ${expected.tokens}`,
      );
    }
    if ((options.verifyChecksum ?? true) && expected.sha256 !== undefined) {
      const actual = sha256File(file);
      if (actual !== expected.sha256) {
        throw new ShardError(
          file,
          'checksum',
          `checksum mismatch: sha256 ${actual}, the manifest says ${expected.sha256}; the shard is corrupt`,
        );
      }
    }
    return new ShardFile(file, header);
  }

  /** Tokens in the shard. */
  get tokens(): number {
    return this.header.tokens;
  }

  /**
   * Reads tokens [start, start + count) into `into` at `offset` (a new array when omitted) and
   * returns the array. Throws a RangeError for a range outside the shard, a ShardError when the
   * file has shrunk since it was opened.
   */
  read(start: number, count: number, into?: Uint16Array, offset = 0): Uint16Array {
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > this.tokens
    ) {
      throw new RangeError(
        `token range [${start}, ${start + count}) is outside ${this.file} (${this.tokens} tokens)`,
      );
    }
    const out = into ?? new Uint16Array(count);
    if (offset + count > out.length) {
      throw new RangeError(`reading ${count} tokens at offset ${offset} overflows an array of ${out.length}`);
    }
    const bytes = new Uint8Array(out.buffer, out.byteOffset + offset * TOKEN_BYTES, count * TOKEN_BYTES);
    const fd = fs.openSync(this.file, 'r');
    try {
      const n = readFully(fd, bytes, SHARD_HEADER_BYTES + start * TOKEN_BYTES);
      if (n !== bytes.byteLength) {
        throw new ShardError(
          this.file,
          'size',
          `truncated since it was opened: short read at token ${start}`,
        );
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }

  /** All tokens of the shard (2·n bytes of memory). */
  readAll(): Uint16Array {
    return this.read(0, this.tokens);
  }
}
