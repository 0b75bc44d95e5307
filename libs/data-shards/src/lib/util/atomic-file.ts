/**
 * Crash-safe files: written under a temporary name in the final folder, fsynced, renamed into place
 * (text files through @llm-forge/gpt's writeTextFileAtomic, shards by the shard writer).
 */
import * as fs from 'fs';

/** Suffix of a shard being written; such files are partial by definition and safe to delete. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Whether `name` is a file being written: a shard's `<name>.tmp`, or `<name>.tmp-XXXX` of an atomic
 * write of @llm-forge/gpt (the manifest, the prepare state). Returns the final name, or undefined.
 */
export function finalNameOfTemp(name: string): string | undefined {
  const match = /^(.*)\.tmp(-[0-9a-f]+)?$/.exec(name);
  return match?.[1];
}

/** Writes all of `data` at the current position of `fd`, looping over partial writes. */
export function writeAll(fd: number, data: ArrayBufferView, position?: number): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let done = 0;
  while (done < bytes.byteLength) {
    const at = position === undefined ? null : position + done;
    done += fs.writeSync(fd, bytes, done, bytes.byteLength - done, at);
  }
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
