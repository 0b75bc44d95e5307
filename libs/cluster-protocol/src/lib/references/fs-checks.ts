/** Small filesystem probes shared by the reference resolvers; none throws for a missing path. */
import { promises as fs, constants, type Stats } from 'fs';

/** The stat of `p`, or undefined when it does not exist (or cannot be reached). */
export async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(p);
  } catch {
    return undefined;
  }
}

/** Whether this process may read `p`. */
export async function readable(p: string): Promise<boolean> {
  try {
    await fs.access(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether `p` exists and is a file. */
export async function isFile(p: string): Promise<boolean> {
  return (await statOrUndefined(p))?.isFile() ?? false;
}
