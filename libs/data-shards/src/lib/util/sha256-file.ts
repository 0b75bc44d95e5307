/** Streaming SHA-256 of a file, in bounded memory. */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { readFully } from './atomic-file';

const BLOCK_BYTES = 4 * 1024 * 1024;

/** Hex SHA-256 of a file's bytes, read in 4 MiB blocks. */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  const fd = fs.openSync(file, 'r');
  try {
    for (let position = 0; ;) {
      const n = readFully(fd, block, position);
      if (n === 0) break;
      hash.update(block.subarray(0, n));
      position += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
