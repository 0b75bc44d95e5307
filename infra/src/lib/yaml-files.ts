import { parseAllDocuments } from 'yaml';

/** A plain JSON-like value as YAML documents hold them. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** A deployment file could not be read or is not what it should be; names the file (and line). */
export class InfraFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    readonly line?: number,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${detail}`);
    this.name = 'InfraFileError';
  }
}

/** Whether `value` is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The documents of a (multi-document) YAML text as plain JSON values, empty documents skipped.
 * Syntax errors throw an InfraFileError naming `file` and the line.
 */
export function parseYamlDocuments(text: string, file: string): Json[] {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: false });
  if (!Array.isArray(docs)) return [];
  const values: Json[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      throw new InfraFileError(file, `YAML syntax error: ${error.message.split('\n')[0]}`, line);
    }
    const value = doc.toJS({ maxAliasCount: 100 }) as Json | undefined;
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}
