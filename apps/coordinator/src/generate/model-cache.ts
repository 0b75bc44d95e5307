/**
 * Loaded models kept for a short while after use, so that repeated prompts to one checkpoint do not
 * reload it. An entry is keyed by directory and the modification times of its files: a checkpoint
 * rewritten in place is loaded afresh.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONFIG_FILE, GPTModel, loadModel } from '@llm-forge/gpt';

interface Entry {
  key: string;
  model: GPTModel;
  users: number;
  expiry?: NodeJS.Timeout;
}

/** A model borrowed from the cache; `release` gives it back (once). */
export interface BorrowedModel {
  model: GPTModel;
  release(): void;
}

/** Modification times of a checkpoint's files (config.json and every safetensors file). */
function stamp(dir: string): string {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f === CONFIG_FILE || /\.(json|safetensors)$/.test(f))
    .sort();
  return files.map((f) => `${f}@${fs.statSync(path.join(dir, f)).mtimeMs}`).join(',');
}

/** Models by checkpoint, disposed `ttlMs` after their last user released them. */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();

  /** @param ttlMs how long an unused model stays loaded */
  constructor(private readonly ttlMs: number) {}

  /** The model of `dir`, loaded now or reused; throws the loader's CheckpointError when unreadable. */
  acquire(dir: string): BorrowedModel {
    const key = `${dir}\0${stamp(dir)}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const { config, params } = loadModel(dir);
      entry = { key, model: GPTModel.fromParameters(config, params), users: 0 };
      this.entries.set(key, entry);
    }
    clearTimeout(entry.expiry);
    entry.users++;
    const held = entry;
    let released = false;
    return {
      model: held.model,
      release: () => {
        if (released) return;
        released = true;
        if (--held.users === 0) held.expiry = setTimeout(() => this.evict(held), this.ttlMs).unref();
      },
    };
  }

  /** Disposes every model not in use (and, at close, the rest as their users release them). */
  clear(): void {
    for (const entry of this.entries.values()) if (entry.users === 0) this.evict(entry);
  }

  private evict(entry: Entry): void {
    if (entry.users > 0 || this.entries.get(entry.key) !== entry) return;
    clearTimeout(entry.expiry);
    this.entries.delete(entry.key);
    entry.model.dispose();
  }
}
