/** Domain errors of the coordinator: services throw these; only the exception filter maps them to HTTP. */

/** Base class of every coordinator domain error. */
export abstract class DomainError extends Error {
  /** Stable machine-readable code, sent to clients as `error`. */
  abstract readonly code: string;
}

/** No run with this id. */
export class RunNotFoundError extends DomainError {
  override readonly name = 'RunNotFoundError';
  readonly code = 'run_not_found';
  constructor(readonly runId: string) {
    super(`run ${runId} does not exist`);
  }
}

/** No finetune job with this id. */
export class FinetuneNotFoundError extends DomainError {
  override readonly name = 'FinetuneNotFoundError';
  readonly code = 'finetune_not_found';
  constructor(readonly finetuneId: string) {
    super(`finetune ${finetuneId} does not exist (GET /finetunes lists them)`);
  }
}

/** No registered worker with this id. */
export class WorkerNotFoundError extends DomainError {
  override readonly name = 'WorkerNotFoundError';
  readonly code = 'worker_not_found';
  constructor(readonly workerId: string) {
    super(`worker ${workerId} is not registered (GET /workers lists them)`);
  }
}

/** An action that the current state of a run (or finetune job) does not allow (e.g. resuming a completed run). */
export class InvalidTransitionError extends DomainError {
  override readonly name = 'InvalidTransitionError';
  readonly code = 'invalid_transition';
  constructor(
    readonly runId: string,
    readonly action: string,
    readonly currentStatus: string,
    allowedFrom: readonly string[],
    what: 'run' | 'finetune' = 'run',
  ) {
    super(
      `cannot ${action} ${what} ${runId}: it is ${currentStatus} (${action} is allowed only when ${allowedFrom.join(' or ')})`,
    );
  }
}

/** One invalid field of a request. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `optimizer.lr`. */
  field: string;
  message: string;
}

/** No checkpoint at the directory asked for. */
export class ModelNotFoundError extends DomainError {
  override readonly name = 'ModelNotFoundError';
  readonly code = 'checkpoint_not_found';
  constructor(
    readonly dir: string,
    problem: string,
  ) {
    super(
      `no checkpoint at ${dir}: ${problem} (a checkpoint directory holds config.json and model.safetensors, as \`forge train --out DIR\` writes)`,
    );
  }
}

/** A request body or parameter failed validation. */
export class RequestValidationError extends DomainError {
  override readonly name = 'RequestValidationError';
  readonly code = 'validation_failed';
  constructor(readonly issues: FieldIssue[]) {
    super(`invalid request: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** A resume request named a checkpoint the run does not have (or one that is incomplete). */
export class CheckpointNotFoundError extends DomainError {
  override readonly name = 'CheckpointNotFoundError';
  readonly code = 'checkpoint_not_found';
  constructor(
    readonly runId: string,
    readonly checkpoint: string,
    dir: string,
  ) {
    super(
      `run ${runId} has no complete checkpoint ${JSON.stringify(checkpoint)} in ${dir} (GET /runs/${runId}/checkpoints lists them)`,
    );
  }
}

/** Too many jobs are waiting to start: the cluster's queue cap (FORGE_MAX_QUEUED_JOBS). */
export class QueueFullError extends DomainError {
  override readonly name = 'QueueFullError';
  readonly code = 'queue_full';
  constructor(
    readonly queued: number,
    readonly limit: number,
  ) {
    super(
      `${queued} runs and finetune jobs are already queued, the cluster's limit (FORGE_MAX_QUEUED_JOBS=${limit}): wait for one to start, or cancel one, then submit again`,
    );
  }
}
