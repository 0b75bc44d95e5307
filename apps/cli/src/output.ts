/** Human and machine output: with --json the last stdout line is one JSON object. */

/** Prints the result object as the last stdout line. */
export function printJson(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Informational line: stderr in JSON mode (stdout stays machine-readable), stdout otherwise. */
export function info(json: boolean | undefined, line: string): void {
  (json ? process.stderr : process.stdout).write(`${line}\n`);
}
