import { Injectable, type PipeTransform } from '@nestjs/common';
import type { ZodType, ZodTypeDef } from 'zod';
import { RequestValidationError } from './errors';

/**
 * Validates and transforms a request value with a zod schema: unknown keys are stripped (whitelist),
 * defaults filled and strings coerced (transform); failures name each field.
 */
@Injectable()
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T, ZodTypeDef, unknown>) {}

  /** Returns the parsed value or throws {@link RequestValidationError}. */
  transform(value: unknown): T {
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    throw new RequestValidationError(
      parsed.error.issues.map((i) => ({
        field: i.path.length > 0 ? i.path.join('.') : '(body)',
        message: i.message,
      })),
    );
  }
}
