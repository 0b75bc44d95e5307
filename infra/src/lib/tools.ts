import { spawnSync } from 'child_process';

/** A deployment tool could not run, or rejected our files: names the command and quotes it. */
export class ToolError extends Error {
  constructor(
    readonly command: string,
    detail: string,
  ) {
    super(`${command}: ${detail}`);
    this.name = 'ToolError';
  }
}

/** How to run a tool: its environment (replaces the process's) and working directory. */
export interface ToolOptions {
  /** @defaultValue the process's environment */
  env?: NodeJS.ProcessEnv;
  /** @defaultValue the process's working directory */
  cwd?: string;
}

/**
 * Runs `command args` and returns its standard output. Throws a ToolError with the tool's own
 * message when it exits non-zero, and one that says what to install when it is not on PATH.
 */
export function runTool(command: string, args: readonly string[], options: ToolOptions = {}): string {
  const line = [command, ...args].join(' ');
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new ToolError(line, `${command} is not on PATH: install it (see infra/README.md)`);
  if (result.error) throw new ToolError(line, result.error.message);
  if (result.status !== 0)
    throw new ToolError(
      line,
      `exit ${String(result.status)}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  return result.stdout;
}

/** The output of `command args` (a version probe), or undefined when it is absent or fails. */
export function toolVersion(command: string, args: readonly string[]): string | undefined {
  try {
    return runTool(command, args);
  } catch {
    return undefined;
  }
}
