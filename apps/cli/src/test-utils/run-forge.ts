/** Test helper: runs the forge CLI in process and captures what it prints. */
import { main } from '../main';

/** What one CLI invocation did. */
export interface ForgeRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (empty when it is not JSON). */
  json: Record<string, unknown>;
}

/** Runs `forge ...args` in this process, capturing stdout and stderr. */
export async function runForge(...args: string[]): Promise<ForgeRun> {
  let stdout = '';
  let stderr = '';
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['node', 'forge', ...args]);
    const lines = stdout.trim().split('\n');
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(lines[lines.length - 1]);
    } catch {
      // not a --json run
    }
    return { code, stdout, stderr, json };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
