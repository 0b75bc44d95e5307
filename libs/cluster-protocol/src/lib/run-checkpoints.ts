/**
 * Reading a run's checkpoint directory (see checkpoint-names.ts for its layout): which checkpoints
 * exist, which are complete, and which one `latest` stands for. The coordinator lists them in its API
 * and resumes from them; the CLI and the coordinator resolve `<run>/latest` with them.
 */
import { promises as fs, type Dirent } from 'fs';
import * as path from 'path';
import { CHECKPOINT_MARKERS, LATEST_FILE, parseCheckpointName } from './checkpoint-names';

/** One checkpoint directory of a run. */
export interface CheckpointInfo {
  /** Folder name, e.g. `step-000100`. */
  name: string;
  path: string;
  /** Step of a `step-NNNNNN` name; null for any other folder. */
  step: number | null;
  /** Whether every marker file is present (an interrupted write leaves it false). */
  complete: boolean;
  /** Whether this is the checkpoint `latest` stands for: the one the `latest` file names, else the newest complete one. */
  latest: boolean;
  /** Bytes of its files. */
  sizeBytes: number;
  modifiedAt: string;
}

/**
 * Checkpoints under `dir`, by step then name, with `latest` marked; an empty list when the directory
 * does not exist yet. A checkpoint is complete when it holds every file of `markers` (a run's model
 * files by default; a finetune's states have `FINETUNE_STATE_MARKERS`). A `latest` file naming an incomplete or missing checkpoint is ignored (the
 * newest complete one is marked instead), so a crash between the two writes never points at a
 * half-written checkpoint.
 */
export async function listCheckpoints(
  dir: string,
  markers: readonly string[] = CHECKPOINT_MARKERS,
): Promise<CheckpointInfo[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: CheckpointInfo[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && !entry.name.startsWith('.'))
      found.push(await describe(dir, entry.name, markers));
  }
  found.sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || a.name.localeCompare(b.name));
  const named = await readLatestFile(dir);
  const complete = found.filter((c) => c.complete);
  const latest = complete.find((c) => c.name === named) ?? complete.at(-1);
  if (latest) latest.latest = true;
  return found;
}

async function describe(dir: string, name: string, markers: readonly string[]): Promise<CheckpointInfo> {
  const p = path.join(dir, name);
  const present = await Promise.all(markers.map((m) => exists(path.join(p, m))));
  const stat = await fs.stat(p);
  return {
    name,
    path: p,
    step: parseCheckpointName(name) ?? null,
    complete: present.every(Boolean),
    latest: false,
    sizeBytes: await dirSize(p),
    modifiedAt: stat.mtime.toISOString(),
  };
}

/** The checkpoint name in `<dir>/latest`, if the file exists. */
async function readLatestFile(dir: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(dir, LATEST_FILE), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(dir, entry.name))).size;
  }
  return total;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
