/** Structured JSON logs (pino), and an adapter so that Nest's own messages go through the same logger. */
import type { LoggerService } from '@nestjs/common';
import pino, { type Logger, type Level } from 'pino';

/** Injection token of the root pino logger. */
export const PINO_LOGGER = Symbol('PINO_LOGGER');

/** A pino logger writing JSON lines to stdout, with `service: coordinator` on every line. */
export function createLogger(level: Level | 'silent'): Logger {
  return pino({ level, base: { service: 'coordinator' } });
}

/** Nest's LoggerService on top of pino: Nest's context becomes the `context` field. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pinoLogger: Logger) {}

  /** @inheritDoc */
  log(message: unknown, context?: string): void {
    this.pinoLogger.info({ context }, String(message));
  }
  /** @inheritDoc */
  error(message: unknown, trace?: string, context?: string): void {
    this.pinoLogger.error({ context, trace }, String(message));
  }
  /** @inheritDoc */
  warn(message: unknown, context?: string): void {
    this.pinoLogger.warn({ context }, String(message));
  }
  /** @inheritDoc */
  debug(message: unknown, context?: string): void {
    this.pinoLogger.debug({ context }, String(message));
  }
  /** @inheritDoc */
  verbose(message: unknown, context?: string): void {
    this.pinoLogger.trace({ context }, String(message));
  }
}
