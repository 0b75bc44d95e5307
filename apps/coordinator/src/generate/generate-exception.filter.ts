/** The generate feature's edge: its domain errors as HTTP responses in the coordinator's error body. */
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import type { ErrorBody } from '../common/domain-exception.filter';
import {
  GenerateError,
  GenerationBusyError,
  GenerationFailedError,
  ModelUnreadableError,
} from './generate.errors';

/** Seconds a client is asked to wait when every generation slot is taken. */
const RETRY_AFTER_S = 5;

function statusOf(error: GenerateError): number {
  if (error instanceof ModelUnreadableError) return HttpStatus.UNPROCESSABLE_ENTITY;
  if (error instanceof GenerationBusyError) return HttpStatus.SERVICE_UNAVAILABLE;
  if (error instanceof GenerationFailedError) return HttpStatus.INTERNAL_SERVER_ERROR;
  return HttpStatus.UNPROCESSABLE_ENTITY;
}

/** Maps {@link GenerateError}s; every other error falls through to the global filter. */
@Catch(GenerateError)
export class GenerateExceptionFilter implements ExceptionFilter<GenerateError> {
  /** Writes the error response (with Retry-After when busy). */
  catch(error: GenerateError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const body: ErrorBody = { statusCode: statusOf(error), error: error.code, message: error.message };
    if (error instanceof GenerationBusyError) res.setHeader('Retry-After', String(RETRY_AFTER_S));
    res.status(body.statusCode).json(body);
  }
}
