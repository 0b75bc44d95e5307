/**
 * Training and evaluation texts, as every command and the API take them: a UTF-8 text file, or
 * `builtin:moby-dick` for the built-in corpus. Resolving checks the file is there, readable and not
 * empty, so a typo fails before any model is built or job is queued.
 */
import * as path from 'path';
import { BUILTIN_TEXT } from '../run-defaults';
import { readable, statOrUndefined } from './fs-checks';
import { InputReferenceError } from './reference-error';

/** Where a text comes from. */
export type TextSource = { kind: 'builtin'; name: typeof BUILTIN_TEXT } | { kind: 'file'; path: string };

const TEXT_HINT = `give a UTF-8 text file, or ${BUILTIN_TEXT} for the built-in corpus`;
const FOLDER_HINT = `give one text file or ${BUILTIN_TEXT}; for a folder of texts, run forge prepare --input DIR --out DATA and train on the dataset DATA`;

/**
 * The text `ref` names: the built-in corpus, or a file (as an absolute path). Throws an
 * {@link InputReferenceError} saying what is wrong for an unknown `builtin:` name, a missing,
 * unreadable or empty file, or a directory.
 */
export async function resolveTextReference(ref: string): Promise<TextSource> {
  if (ref === BUILTIN_TEXT) return { kind: 'builtin', name: BUILTIN_TEXT };
  if (ref.startsWith('builtin:')) throw new InputReferenceError(ref, 'no such built-in text', TEXT_HINT);
  const file = path.resolve(ref);
  const stat = await statOrUndefined(file);
  if (!stat) throw new InputReferenceError(ref, 'text file not found', TEXT_HINT);
  if (stat.isDirectory()) throw new InputReferenceError(ref, 'is a directory, not a text file', FOLDER_HINT);
  if (!stat.isFile()) throw new InputReferenceError(ref, 'is not a regular file', TEXT_HINT);
  if (!(await readable(file))) throw new InputReferenceError(ref, 'is not readable (permissions)', TEXT_HINT);
  if (stat.size === 0) throw new InputReferenceError(ref, 'text file is empty', 'give a file with some text');
  return { kind: 'file', path: file };
}
