import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  CheckpointNotFoundError,
  DomainError,
  FinetuneNotFoundError,
  WorkerNotFoundError,
  ModelNotFoundError,
  InvalidTransitionError,
  QueueFullError,
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
    error instanceof WorkerNotFoundError ||
    error instanceof ModelNotFoundError
  )
    return HttpStatus.NOT_FOUND;
  if (error instanceof InvalidTransitionError) return HttpStatus.CONFLICT;
  if (error instanceof RequestValidationError) return HttpStatus.BAD_REQUEST;
  if (error instanceof QueueFullError) return HttpStatus.TOO_MANY_REQUESTS;
  return HttpStatus.UNPROCESSABLE_ENTITY;
}

/** An error of Express's body parser (http-errors): a client's mistake with its own status. */
interface BodyParserError {
  type: string;
  status: number;
  expose: boolean;
  length?: number;
  limit?: number;
}

function isBodyParserError(e: unknown): e is BodyParserError {
  const x = e as Partial<BodyParserError> | null;
  return (
    typeof x?.type === 'string' &&
    typeof x.status === 'number' &&
    x.status >= 400 &&
    x.status < 500 &&
    x.expose === true
  );
}

/** The answer to a body the parser refused: 413 saying the limit (Nest answers malformed JSON itself: 400). */
function bodyParserBody(e: BodyParserError & { message?: string }): ErrorBody {
  if (e.type === 'entity.too.large') {
    return {
      statusCode: HttpStatus.PAYLOAD_TOO_LARGE,
      error: 'payload_too_large',
      message: `the request body${e.length !== undefined ? ` (${e.length} bytes)` : ''} is larger than the limit of ${e.limit ?? '?'} bytes (FORGE_MAX_BODY_BYTES); a run or finetune spec needs a few hundred`,
    };
  }
  return { statusCode: e.status, error: httpErrorCode(e.status), message: e.message ?? e.type };
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
    } else if (isBodyParserError(exception)) {
      body = bodyParserBody(exception);
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
