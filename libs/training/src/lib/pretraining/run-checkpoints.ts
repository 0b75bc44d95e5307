/**
 * Rank 0's checkpoints of a run: `<checkpointDir>/step-NNNNNN` (model, optimizer and trainer state
 * with the data position, written atomically by libs/gpt), a `latest` file naming the newest
 * complete one (replaced atomically after the checkpoint is complete), and only the newest M kept.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkpointName, LATEST_FILE, parseCheckpointName } from '@llm-forge/cluster-protocol';
import { saveCheckpoint, writeTextFileAtomic } from '@llm-forge/gpt';
import { OUTER_MOMENTUM_TENSOR, type Replica, type RunHistory, type RunTrainerState } from './replica';

/** Name of the file that names the newest complete checkpoint (defined in @llm-forge/cluster-protocol). */

/** A checkpoint just written. */
export interface WrittenCheckpoint {
  name: string;
  path: string;
  step: number;
}

/**
 * Writes the replica's state after `replica.trainer.stepsDone` steps, points `latest` at it and
 * deletes older step checkpoints beyond the newest `keep` (the one just written always stays).
 */
export function saveRunCheckpoint(
  replica: Replica,
  dataPosition: RunTrainerState['data'],
  checkpointDir: string,
  keep: number,
): WrittenCheckpoint {
  const step = replica.trainer.stepsDone;
  const name = checkpointName(step);
  const dir = path.join(checkpointDir, name);
  fs.mkdirSync(checkpointDir, { recursive: true });
  // A re-run step after resuming from an older checkpoint replaces its earlier copy (same state).
  saveReplica(dir, replica, dataPosition, { overwrite: true });
  writeTextFileAtomic(path.join(checkpointDir, LATEST_FILE), `${name}\n`);
  pruneCheckpoints(checkpointDir, keep, step);
  return { name, path: dir, step };
}

/**
 * Writes the replica as one resumable checkpoint directory (`forge train --out`, or a step
 * checkpoint of a run): model, AdamW state, and the trainer state a run resumes from exactly.
 */
export function saveReplica(
  dir: string,
  replica: Replica,
  dataPosition: RunTrainerState['data'],
  options: { overwrite?: boolean; history?: RunHistory } = {},
): void {
  const trainerState: RunTrainerState = {
    runId: replica.runId,
    step: replica.trainer.stepsDone,
    data: dataPosition,
    rng: { seed: replica.spec.seed, scheme: 'derive(seed, step, micro)' },
    spec: replica.spec,
    ...(options.history ? { history: options.history } : {}),
  };
  const { config } = replica.model;
  const { params, optimizer } = replica.trainer;
  // Taken after an outer step (DiLoCo), where θ_local = θ_outer: the outer momentum completes the state.
  const trainerTensors = replica.outer ? { [OUTER_MOMENTUM_TENSOR]: replica.outer.momentumState } : undefined;
  saveCheckpoint(
    dir,
    {
      config,
      params,
      optimizer: optimizer.state,
      trainerState,
      ...(trainerTensors ? { trainerTensors } : {}),
    },
    { overwrite: options.overwrite },
  );
}

/** Deletes step checkpoints older than the newest `keep`, never the one of `protectedStep`. */
export function pruneCheckpoints(checkpointDir: string, keep: number, protectedStep: number): string[] {
  const steps = fs
    .readdirSync(checkpointDir)
    .map((name) => parseCheckpointName(name))
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => b - a);
  const doomed = steps.slice(Math.max(1, keep)).filter((s) => s !== protectedStep);
  for (const s of doomed)
    fs.rmSync(path.join(checkpointDir, checkpointName(s)), { recursive: true, force: true });
  return doomed.map(checkpointName);
}
