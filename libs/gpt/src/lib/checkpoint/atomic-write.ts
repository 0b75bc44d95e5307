/**
 * Crash-safe writes: a file is written under a temporary name in its final folder and renamed
 * into place; a checkpoint folder is built as `<dir>.tmp-XXXX` and renamed into place, so `<dir>`
 * always holds either the old complete checkpoint or the new complete one, never half of one.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';
import { writeChecksums } from './checksums';

/** Files whose presence marks a folder as a model or checkpoint that may be replaced. */
const CHECKPOINT_MARKERS = ['config.json', 'model.safetensors'];

function tempSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Writes all of `data` at the current position of `fd`, looping over partial writes. */
export function writeAll(fd: number, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const chunk = 64 * 1024 * 1024;
  let done = 0;
  while (done < bytes.byteLength) {
    done += fs.writeSync(fd, bytes, done, Math.min(chunk, bytes.byteLength - done));
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

/**
 * Writes a file atomically: `write(fd)` fills `<file>.tmp-XXXX`, which is fsynced and renamed
 * to `file`. On any error the temporary file is removed and `file` is untouched.
 */
export function writeFileAtomic(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.tmp-${tempSuffix()}`;
  const fd = fs.openSync(tmp, 'wx');
  try {
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes a text file atomically (see {@link writeFileAtomic}). */
export function writeTextFileAtomic(file: string, text: string): void {
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(text, 'utf8')));
}

/** Options of {@link writeDirAtomic}. */
export interface WriteDirOptions {
  /** Replace an existing checkpoint at the destination. @defaultValue false */
  overwrite?: boolean;
  /**
   * Record the sha256 of every file in `checksums.json` once `build` is done, so loaders can tell
   * a folder that changed on disk from the one written. @defaultValue true
   */
  checksums?: boolean;
}

function checkReplaceable(dir: string, overwrite: boolean): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return false;
  }
  if (!stat.isDirectory()) {
    throw new CheckpointError(dir, 'exists and is not a directory', 'choose another --out');
  }
  if (!overwrite) {
    throw new CheckpointError(
      dir,
      'already exists',
      'pass --overwrite to replace it, or choose another --out',
    );
  }
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !CHECKPOINT_MARKERS.some((m) => entries.includes(m))) {
    throw new CheckpointError(
      dir,
      `exists and holds files but no ${CHECKPOINT_MARKERS.join(' or ')}; refusing to replace a folder that is not a checkpoint`,
      'choose another --out',
    );
  }
  return true;
}

/**
 * Builds a folder atomically: `build(tmpDir)` fills `<dir>.tmp-XXXX`, which is then renamed to
 * `dir`. An existing checkpoint at `dir` is replaced only with `overwrite`, and stays intact until
 * the new one is complete (it is moved aside to `<dir>.old-XXXX` for the instant of the swap, then
 * deleted). Parent folders are created. On any error the temporary folder is removed. Unless
 * `checksums: false`, the folder gets a `checksums.json` with the sha256 of each file (see checksums.ts).
 */
export function writeDirAtomic(
  dir: string,
  build: (tmpDir: string) => void,
  options: WriteDirOptions = {},
): void {
  const target = path.resolve(dir);
  checkReplaceable(target, options.overwrite ?? false);
  const suffix = tempSuffix();
  const tmp = `${target}.tmp-${suffix}`;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.mkdirSync(tmp);
  } catch (e) {
    throw new CheckpointError(
      dir,
      `could not be created (${(e as Error).message})`,
      'check the permissions or choose another --out',
    );
  }
  try {
    build(tmp);
    if (options.checksums ?? true) writeChecksums(tmp);
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const replacing = checkReplaceable(target, options.overwrite ?? false);
  if (!replacing) {
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new CheckpointError(
        dir,
        `could not be created (${(e as Error).message})`,
        'choose another --out',
      );
    }
  } else {
    const old = `${target}.old-${suffix}`;
    fs.renameSync(target, old);
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.renameSync(old, target);
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new CheckpointError(dir, `could not be replaced (${(e as Error).message})`);
    }
    fs.rmSync(old, { recursive: true, force: true });
  }
  fsyncDir(path.dirname(target));
}

/**
 * Throws a CheckpointError when `dir` is not an existing folder, mentioning a `<dir>.old-XXXX`
 * left by an interrupted replace if there is one.
 */
export function requireDir(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) return;
  if (stat)
    throw new CheckpointError(
      dir,
      'is a file, not a model or checkpoint directory',
      'pass the folder that holds config.json',
    );
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(path.resolve(dir));
  const leftovers = fs.existsSync(parent)
    ? fs.readdirSync(parent).filter((f) => f.startsWith(`${base}.old-`))
    : [];
  throw new CheckpointError(
    dir,
    'does not exist',
    leftovers.length
      ? `an interrupted save left the previous checkpoint at ${path.join(parent, leftovers[0])}; rename it back`
      : 'check the path; a model folder holds config.json and model.safetensors',
  );
}
