/** Lists the checkpoints workers wrote into a run's checkpoint directory. */
import { promises as fs } from 'fs';
import * as path from 'path';

/** Files whose presence marks a complete checkpoint (as written by `@llm-forge/gpt`'s saveCheckpoint). */
export const CHECKPOINT_MARKERS = ['config.json', 'model.safetensors'] as const;

/** One checkpoint directory of a run. */
export interface CheckpointInfo {
  /** Folder name, e.g. `step-000100`. */
  name: string;
  path: string;
  /** Step parsed from the trailing digits of the name, if any. */
  step: number | null;
  /** Whether every marker file is present (an interrupted write leaves it false). */
  complete: boolean;
  /** Whether this is the newest complete checkpoint (the one the `latest` file names). */
  latest: boolean;
  /** Bytes of its files. */
  sizeBytes: number;
  modifiedAt: string;
}

/** File rank 0 writes (atomically) naming the newest complete checkpoint. */
export const LATEST_FILE = 'latest';

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(dir, entry.name))).size;
  }
  return total;
}

async function readLatest(dir: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(dir, LATEST_FILE), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Checkpoints under `dir`, by step then name; an empty list when the directory does not exist yet. */
export async function listCheckpoints(dir: string): Promise<CheckpointInfo[]> {
  let entries: import('fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: CheckpointInfo[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    const markers = await Promise.all(CHECKPOINT_MARKERS.map((m) => exists(path.join(p, m))));
    const digits = /(\d+)$/.exec(entry.name);
    const stat = await fs.stat(p);
    found.push({
      name: entry.name,
      path: p,
      step: digits ? Number(digits[1]) : null,
      complete: markers.every(Boolean),
      latest: false,
      sizeBytes: await dirSize(p),
      modifiedAt: stat.mtime.toISOString(),
    });
  }
  found.sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || a.name.localeCompare(b.name));
  const named = await readLatest(dir);
  const latest = found.find((c) => c.complete && c.name === named) ?? found.filter((c) => c.complete).at(-1);
  if (latest) latest.latest = true;
  return found;
}
