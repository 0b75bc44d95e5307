/**
 * Alpaca-format instruction data: `{instruction, input, output}` records as one JSON array or as
 * JSON Lines (one object per line), the format of the book's ch. 7 set.
 */
import * as fs from 'fs';
import { DataError } from '@llm-forge/gpt';
import { jsonSyntaxErrorOffset } from './json-syntax';

/** One instruction example. `input` is empty when the instruction needs no extra context. */
export interface InstructionEntry {
  instruction: string;
  input: string;
  output: string;
}

/** 1-based line and column of a character offset in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Where and how JSON `text` is broken: " at line L, column C (unexpected "x")", 1-based. */
function jsonErrorPlace(text: string, lineOffset = 0): string {
  const offset = jsonSyntaxErrorOffset(text);
  if (offset < 0) return ''; // JSON.parse and the scanner disagree: say nothing rather than guess
  const { line, column } = lineAndColumn(text, offset);
  const found = offset < text.length ? JSON.stringify(text[offset]) : 'end of input';
  return ` at line ${line + lineOffset}, column ${column} (unexpected ${found})`;
}

/** Checks one parsed record; `where` names it in errors ("entry 3", "entry 3 (line 7)"). */
export function toInstructionEntry(value: unknown, where: string, source: string): InstructionEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DataError(
      `${source}: ${where} is not an object`,
      'each entry must be {"instruction": ..., "input": ..., "output": ...}',
    );
  }
  const record = value as Record<string, unknown>;
  for (const field of ['instruction', 'output'] as const) {
    if (!(field in record)) {
      throw new DataError(
        `${source}: ${where} has no "${field}" field`,
        'Alpaca format needs instruction and output',
      );
    }
  }
  for (const field of ['instruction', 'input', 'output'] as const) {
    if (field in record && typeof record[field] !== 'string') {
      throw new DataError(
        `${source}: ${where} field "${field}" must be a string, got ${typeof record[field]}`,
      );
    }
  }
  const instruction = record.instruction as string;
  if (instruction.trim() === '') throw new DataError(`${source}: ${where} has an empty "instruction"`);
  return { instruction, input: (record.input as string | undefined) ?? '', output: record.output as string };
}

/** A parsed JSON value and where it came from ("entry 3" or "entry 3 (line 7)"). */
export interface JsonRecord {
  value: unknown;
  where: string;
}

function parseJsonArray(text: string, source: string): JsonRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new DataError(
      `${source} is not valid JSON${jsonErrorPlace(text)}`,
      'expected a JSON array of {instruction, input, output} objects, or JSON Lines',
    );
  }
  if (!Array.isArray(data)) {
    throw new DataError(`${source}: expected a JSON array of entries, got ${typeof data}`);
  }
  return data.map((value, i) => ({ value, where: `entry ${i}` }));
}

function parseJsonLines(text: string, source: string): JsonRecord[] {
  const records: JsonRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new DataError(
        `${source} is not valid JSON${jsonErrorPlace(raw, i) || ` on line ${i + 1}`}`,
        'expected a JSON array of {instruction, input, output} objects, or one such object per line (JSON Lines)',
      );
    }
    records.push({ value, where: `entry ${records.length} (line ${i + 1})` });
  });
  return records;
}

/**
 * Parses Alpaca-format data: a JSON array when the text starts with `[`, JSON Lines otherwise.
 * `input` may be absent (read as ""); other fields are ignored. Throws a DataError naming
 * `source` and the line, column or entry index of the first problem, and for no entries at all.
 */
export function parseInstructionData(text: string, source = 'instruction data'): InstructionEntry[] {
  return parseJsonRecords(text, source).map(({ value, where }) => toInstructionEntry(value, where, source));
}

/**
 * The records of a JSON array (text starting with `[`) or of JSON Lines, unchecked. Throws a
 * DataError naming `source` and the line and column of a syntax error, or for no records at all.
 */
export function parseJsonRecords(text: string, source: string): JsonRecord[] {
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed === '') throw new DataError(`${source} is empty`, 'expected Alpaca-format JSON or JSON Lines');
  const records = trimmed.startsWith('[') ? parseJsonArray(body, source) : parseJsonLines(body, source);
  if (records.length === 0) {
    throw new DataError(
      `${source} has no entries`,
      'expected at least one {instruction, input, output} object',
    );
  }
  return records;
}

/** Reads and parses an Alpaca-format JSON or JSONL file (see {@link parseInstructionData}). */
export function loadInstructionData(file: string): InstructionEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      `cannot read instruction data ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  return parseInstructionData(text, file);
}
