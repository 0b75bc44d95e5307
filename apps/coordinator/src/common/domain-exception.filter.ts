import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  CheckpointNotFoundError,
  DomainError,
  FinetuneNotFoundError,
  ModelNotFoundError,
  InvalidTransitionError,
  RequestValidationError,
  RunNotFoundError,
} from './errors';

/** JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  issues?: { field: string; message: string }[];
}

function statusOf(error: DomainError): number {
  if (
    error instanceof RunNotFoundError ||
    error instanceof CheckpointNotFoundError ||
    error instanceof FinetuneNotFoundError ||
    error instanceof ModelNotFoundError
  )
    return HttpStatus.NOT_FOUND;
  if (error instanceof InvalidTransitionError) return HttpStatus.CONFLICT;
  if (error instanceof RequestValidationError) return HttpStatus.BAD_REQUEST;
  return HttpStatus.UNPROCESSABLE_ENTITY;
}

/** `unauthorized`, `not_found`, … for Nest's own HTTP errors (snake_case like the domain codes). */
export function httpErrorCode(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase() : 'http_error';
}

/** The edge: maps domain errors (and Nest HTTP errors) to JSON responses; anything else is a logged 500. */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  /** Writes the error response. */
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    let body: ErrorBody;
    if (exception instanceof DomainError) {
      body = { statusCode: statusOf(exception), error: exception.code, message: exception.message };
      if (exception instanceof RequestValidationError) body.issues = exception.issues;
    } else if (exception instanceof HttpException) {
      const r = exception.getResponse();
      const message =
        typeof r === 'string'
          ? r
          : typeof r === 'object' && r !== null && 'message' in r
            ? String((r as { message: unknown }).message)
            : exception.message;
      body = { statusCode: exception.getStatus(), error: httpErrorCode(exception.getStatus()), message };
    } else {
      this.log.error({ err: exception, method: req.method, url: req.url }, 'unhandled error');
      body = {
        statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
        error: 'internal_error',
        message: 'internal server error',
      };
    }
    res.status(body.statusCode).json(body);
  }
}
