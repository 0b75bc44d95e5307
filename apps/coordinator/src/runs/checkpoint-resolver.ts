/**
 * Turns a checkpoint reference (of a generate request, or a finetune job's base) into a directory: an
 * absolute directory as given, or `<runId>/<checkpointName>` inside the run's checkpoint directory
 * (`<runId>/latest`: its newest complete checkpoint). Callers check the form with
 * {@link isCheckpointRef} first (it refuses `.` and `..` segments); the resolved path is checked
 * again to stay inside the run's directory.
 */
import { Injectable } from '@nestjs/common';
import { promises as fs } from 'fs';
import * as path from 'path';
import { CheckpointNotFoundError, ModelNotFoundError, RunNotFoundError } from '../common/errors';
import { listCheckpoints } from './checkpoints';
import { RunsRepository } from './runs.repository';

/** The model config of a checkpoint (libs/gpt's CONFIG_FILE; not imported, to keep tfjs out of this thread). */
const CONFIG_FILE = 'config.json';

/** Name that stands for a run's newest complete checkpoint. */
export const LATEST = 'latest';

/** One segment of `<runId>/<checkpointName>`: a plain folder name, never `.` or `..`. */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

/** Whether `value` is an absolute directory or `<runId>/<checkpointName>` without traversal. */
export function isCheckpointRef(value: string): boolean {
  if (path.isAbsolute(value)) return true;
  const parts = value.split('/');
  return parts.length === 2 && parts.every((p) => SEGMENT.test(p));
}

/** Resolves checkpoint references to directories holding a model. */
@Injectable()
export class CheckpointResolver {
  constructor(private readonly runs: RunsRepository) {}

  /**
   * The directory `ref` names. Throws {@link RunNotFoundError} or {@link CheckpointNotFoundError} for
   * the run form, {@link ModelNotFoundError} when the directory has no config.json.
   */
  async resolve(ref: string): Promise<string> {
    const dir = path.isAbsolute(ref) ? path.resolve(ref) : await this.inRun(ref);
    await requireModelDir(dir);
    return dir;
  }

  private async inRun(ref: string): Promise<string> {
    const [runId, name] = ref.split('/');
    const run = await this.runs.get(runId);
    if (!run) throw new RunNotFoundError(runId);
    const complete = (await listCheckpoints(run.checkpointDir)).filter((c) => c.complete);
    const found = name === LATEST ? complete.find((c) => c.latest) : complete.find((c) => c.name === name);
    const base = path.resolve(run.checkpointDir);
    if (!found || path.dirname(path.resolve(found.path)) !== base)
      throw new CheckpointNotFoundError(runId, name, run.checkpointDir);
    return path.resolve(found.path);
  }
}

/** Throws {@link ModelNotFoundError} unless `dir` is a directory with a config.json. */
async function requireModelDir(dir: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new ModelNotFoundError(dir, 'the directory does not exist');
  }
  if (!stat.isDirectory()) throw new ModelNotFoundError(dir, 'it is not a directory');
  try {
    await fs.access(path.join(dir, CONFIG_FILE));
  } catch {
    throw new ModelNotFoundError(dir, `${CONFIG_FILE} is missing`);
  }
}
