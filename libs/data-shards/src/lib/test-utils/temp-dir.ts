/** Test helpers: temporary folders and small files. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A fresh temporary folder; remove it with `fs.rmSync(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'data-shards-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes files given as { relativePath: contents } under `dir`, creating folders. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

/** Flips the bits of one byte of a file in place. */
export function flipByte(file: string, position: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, position);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, position);
  } finally {
    fs.closeSync(fd);
  }
}
