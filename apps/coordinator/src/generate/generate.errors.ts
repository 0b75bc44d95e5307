/** Domain errors of text generation; {@link GenerateExceptionFilter} maps them to HTTP. */
import { DomainError } from '../common/errors';

/** Base class of the errors the generate feature's filter maps. */
export abstract class GenerateError extends DomainError {}

/** The checkpoint exists but cannot be loaded: truncated, corrupt or of a foreign layout. */
export class ModelUnreadableError extends GenerateError {
  override readonly name = 'ModelUnreadableError';
  readonly code = 'checkpoint_unreadable';
  constructor(
    readonly dir: string,
    problem: string,
  ) {
    super(`cannot load the checkpoint at ${dir}: ${problem}`);
  }
}

/** Every generation slot is taken. */
export class GenerationBusyError extends GenerateError {
  override readonly name = 'GenerationBusyError';
  readonly code = 'generation_busy';
  constructor(readonly limit: number) {
    super(`the coordinator is already running ${limit} generations (its limit); retry when one has finished`);
  }
}

/** Generation could not start for a reason that is not the request's (e.g. the tensor backend failed). */
export class GenerationFailedError extends GenerateError {
  override readonly name = 'GenerationFailedError';
  readonly code = 'generation_failed';
  constructor(problem: string) {
    super(`generation failed to start: ${problem}`);
  }
}
