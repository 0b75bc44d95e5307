/**
 * Turns a model reference (of a generate request, a finetune job's base or a run's `model.init`) into
 * a directory: an absolute model or checkpoint directory (or `<dir>/latest` of a run's directory), or
 * `<runId>/<checkpointName>` inside a known run's checkpoint directory (`<runId>/latest`: its newest
 * complete checkpoint). The resolution itself is @llm-forge/cluster-protocol's, the same as the CLI's;
 * this adds the lookup of run ids and the coordinator's errors.
 */
import { Injectable } from '@nestjs/common';
import * as path from 'path';
import {
  InputReferenceError,
  MODEL_REFERENCE_HINT,
  parseRunCheckpointRef,
  resolveModelReference,
  resolveRunCheckpoint,
} from '@llm-forge/cluster-protocol';
import { CheckpointNotFoundError, DomainError, ModelNotFoundError, RunNotFoundError } from '../common/errors';
import { invalid } from './input-checks';
import { RunsRepository } from './runs.repository';

/** Whether `value` is an absolute directory or `<runId>/<checkpointName>` without traversal. */
export function isCheckpointRef(value: string): boolean {
  return path.isAbsolute(value) || parseRunCheckpointRef(value) !== undefined;
}

/** Resolves model references to directories holding a model. */
@Injectable()
export class CheckpointResolver {
  constructor(private readonly runs: RunsRepository) {}

  /**
   * The directory `ref` names. Throws {@link RunNotFoundError} or {@link CheckpointNotFoundError} for
   * the run form, {@link ModelNotFoundError} when a directory holds no model.
   */
  async resolve(ref: string): Promise<string> {
    const inRun = parseRunCheckpointRef(ref);
    if (inRun) return this.inRun(inRun.runId, inRun.name);
    try {
      return await resolveModelReference(ref);
    } catch (error) {
      if (!(error instanceof InputReferenceError)) throw error;
      // The generic hint is ModelNotFoundError's own; a specific one (a run's directory) is kept.
      const hint = error.hint === MODEL_REFERENCE_HINT ? '' : `; ${error.hint}`;
      throw new ModelNotFoundError(ref, `${error.problem}${hint}`);
    }
  }

  /**
   * The directory `ref` names, for a field of a request body: every problem (not the form, not
   * found, no model) is a {@link RequestValidationError} naming `field`.
   */
  async resolveField(field: string, ref: string): Promise<string> {
    if (!isCheckpointRef(ref)) {
      throw invalid(
        field,
        `${JSON.stringify(ref)} is neither an absolute model or checkpoint directory nor <runId>/<checkpoint> (e.g. run-…/step-000200 or run-…/latest)`,
      );
    }
    try {
      return await this.resolve(ref);
    } catch (error) {
      if (error instanceof DomainError) throw invalid(field, error.message);
      throw error;
    }
  }

  private async inRun(runId: string, name: string): Promise<string> {
    const run = await this.runs.get(runId);
    if (!run) throw new RunNotFoundError(runId);
    try {
      return await resolveRunCheckpoint(run.checkpointDir, name, `${runId}/${name}`);
    } catch (error) {
      if (error instanceof InputReferenceError)
        throw new CheckpointNotFoundError(runId, name, run.checkpointDir);
      throw error;
    }
  }
}
