import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';

/** The OpenAPI schema of what a client sends for a zod schema (input side: defaults optional). */
export function openApiSchema(schema: ZodTypeAny): SchemaObject {
  const json = zodToJsonSchema(schema, { target: 'openApi3', effectStrategy: 'input', $refStrategy: 'none' });
  return json as SchemaObject;
}
