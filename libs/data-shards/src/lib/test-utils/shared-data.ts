/**
 * Reference data in `../shared` (the sibling of the repository root), the same idea as libs/gpt's
 * helper: a fresh clone without it still passes, suites that need it are skipped with a message.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Absolute path of the shared reference folder (`<repo>/../shared`). */
export const SHARED_DIR = path.resolve(__dirname, '../../../../..', '../shared');

/** Path of a file under the shared folder, e.g. `sharedPath('data', 'the-verdict.txt')`. */
export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

/** `describe` when ../shared/data exists; otherwise a skipped suite that says why. */
export function describeIfShared(name: string, fn: () => void): void {
  if (fs.existsSync(path.join(SHARED_DIR, 'data'))) {
    describe(name, fn);
  } else {
    describe.skip(`${name} (skipped: ${SHARED_DIR} not found)`, fn);
    console.warn(`skipping "${name}": reference data ${SHARED_DIR} not found`);
  }
}
