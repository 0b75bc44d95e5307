/** Structured JSON logs (pino), and an adapter so that Nest's own messages go through the same logger. */
import type { LoggerService } from '@nestjs/common';
import pino, { type Logger, type Level } from 'pino';

/** Injection token of the root pino logger. */
export const PINO_LOGGER = Symbol('PINO_LOGGER');

/** What replaces a secret in a log line. */
export const REDACTED = '[REDACTED]';

/** `?token=…` and friends in a URL or message (the dashboard's EventSource passes the token so). */
const SECRET_QUERY = /([?&](?:token|access_token|api_key|apikey|secret)=)[^&#\s"'<>]*/gi;
/** An `Authorization: Bearer …` value quoted in a message. */
const BEARER = /(\bBearer\s+)[^\s"',;]+/gi;

/** `text` with query-string tokens and bearer credentials replaced by {@link REDACTED}. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_QUERY, `$1${REDACTED}`).replace(BEARER, `$1${REDACTED}`);
}

/** Header and config keys whose whole value is a secret, wherever they sit in a log object. */
const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'apitoken',
  'clustersecret',
  'x-llmforge-secret',
]);

/** A copy of `value` with secrets redacted: secret keys censored, every string scrubbed (depth ≤ 6). */
function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  // An Error is left whole for the `err` serializer (its message and stack are not enumerable).
  if (depth > 6 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_KEYS.has(key.toLowerCase()) ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}

/**
 * A pino logger writing JSON lines to stdout, with `service: coordinator` on every line. Tokens
 * never reach a line: `?token=` values and bearer credentials in any string (a URL an error path
 * logs, an error message), and the values of Authorization/Cookie headers and of the API token and
 * cluster secret, are replaced by `[REDACTED]`.
 */
export function createLogger(level: Level | 'silent', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'coordinator' },
    serializers: {
      // Errors are serialized first (message, stack), then scrubbed like every other field.
      err: (err: Error) => redactValue(pino.stdSerializers.err(err), 0),
    },
    formatters: {
      log: (object) => redactValue(object, 0) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as typeof args;
        method.apply(this, scrubbed);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
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
