/** Crash-safe files: written under a temporary name in the final folder, fsynced, renamed into place. */
import * as fs from 'fs';

/** Suffix of a file being written; such files are partial by definition and safe to delete. */
export const TEMP_SUFFIX = '.tmp';

/** Writes all of `data` at the current position of `fd`, looping over partial writes. */
export function writeAll(fd: number, data: ArrayBufferView, position?: number): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let done = 0;
  while (done < bytes.byteLength) {
    const at = position === undefined ? null : position + done;
    done += fs.writeSync(fd, bytes, done, bytes.byteLength - done, at);
  }
}

/** Writes a text file atomically through `<file>.tmp`; on error `file` is untouched. */
export function writeTextFileAtomic(file: string, text: string): void {
  const tmp = `${file}${TEMP_SUFFIX}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Reads exactly `length` bytes at `position` of `fd` into `into` (from offset 0); returns the count read. */
export function readFully(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.byteLength) {
    const n = fs.readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
