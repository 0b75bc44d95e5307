/**
 * Checksums of checkpoint folders: `checksums.json` records the sha256 of every file of a folder
 * written by {@link writeDirAtomic} (model folders, training checkpoints, finetune states, LoRA
 * adapters), and the loaders verify each file they read against it. The atomic write makes a
 * half-written folder impossible; the checksum catches what happens to a complete one afterwards
 * (a flipped bit on disk, a copy gone wrong), which would otherwise load silently as other weights.
 *
 * A folder without `checksums.json` (written before checksums existed, or a Hugging Face download)
 * still loads, unverified: the record is what makes a folder verifiable, not a requirement.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';

/** File name of the checksum record inside a checkpoint folder. */
export const CHECKSUMS_FILE = 'checksums.json';
const FORMAT = 'llm-forge-checksums/1';
/** The problem every mismatch reports, so logs and callers can search for one phrase. */
export const CHECKSUM_MISMATCH = 'checkpoint is corrupt (checksum mismatch)';
const CORRUPT_HINT = 'the file changed after it was written; use an earlier checkpoint or write it again';

/** checksums.json. */
interface ChecksumsJson {
  format: typeof FORMAT;
  algorithm: 'sha256';
  /** Hex sha256 by file name (relative to the folder). */
  files: Record<string, string>;
}

/** Hex sha256 of a file's bytes, read in 16 MiB chunks (a large model exceeds one Buffer). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
    let read: number;
    while ((read = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) hash.update(chunk.subarray(0, read));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Throws a CheckpointError naming `file` when its sha256 is not `expected` (the one check every
 * checksum of a checkpoint goes through, so every mismatch reads the same).
 */
export function verifyFileSha256(file: string, expected: string): void {
  if (sha256File(file) !== expected) throw new CheckpointError(file, CHECKSUM_MISMATCH, CORRUPT_HINT);
}

/**
 * Writes `<dir>/checksums.json` with the sha256 of every regular file in `dir` (not in
 * sub-folders; checkpoint folders are flat). Called last, once every other file is complete.
 */
export function writeChecksums(dir: string): void {
  const files: Record<string, string> = {};
  for (const entry of fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isFile() || entry.name === CHECKSUMS_FILE) continue;
    files[entry.name] = sha256File(path.join(dir, entry.name));
  }
  const json: ChecksumsJson = { format: FORMAT, algorithm: 'sha256', files };
  const file = path.join(dir, CHECKSUMS_FILE);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, `${JSON.stringify(json, null, 2)}\n`, 'utf8');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The recorded checksums of `dir`, or undefined when it has none (an older or foreign folder). */
export function readChecksums(dir: string): Record<string, string> | undefined {
  const file = path.join(dir, CHECKSUMS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(file, `cannot be read (${(e as Error).message})`);
  }
  let json: Partial<ChecksumsJson>;
  try {
    json = JSON.parse(text) as Partial<ChecksumsJson>;
  } catch (e) {
    throw new CheckpointError(
      file,
      `${CHECKSUM_MISMATCH}: not valid JSON (${(e as Error).message})`,
      CORRUPT_HINT,
    );
  }
  const files = json.files;
  const valid =
    json.format === FORMAT &&
    json.algorithm === 'sha256' &&
    files !== null &&
    typeof files === 'object' &&
    !Array.isArray(files) &&
    Object.values(files).every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h));
  if (!valid) {
    throw new CheckpointError(file, `${CHECKSUM_MISMATCH}: not a ${FORMAT} record`, CORRUPT_HINT);
  }
  return files as Record<string, string>;
}

/**
 * Verifies the named files of `dir` (names relative to it) against its checksums.json; a file the
 * record does not list, or a folder without a record, is not checked. Throws a CheckpointError
 * naming the first file whose bytes differ, or one the record lists that is gone.
 */
export function verifyChecksums(dir: string, names: readonly string[]): void {
  const recorded = readChecksums(dir);
  if (!recorded) return;
  for (const name of names) {
    const expected = recorded[name];
    if (expected === undefined) continue;
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      throw new CheckpointError(file, `is missing, although ${CHECKSUMS_FILE} lists it`, CORRUPT_HINT);
    }
    verifyFileSha256(file, expected);
  }
}
