/** The `forge` command line: single-machine pretraining, evaluation and generation. */
import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import { trainCommand } from './commands/train';
import { evalCommand } from './commands/eval';
import { generateCommand } from './commands/generate';
import { logitsCommand } from './commands/logits';
import { infoCommand } from './commands/info';
import { prepareCommand } from './commands/prepare';
import { finetuneCommand } from './commands/finetune';
import { judgeCommand } from './commands/judge';
import { clusterCommand } from './commands/cluster';
import { submitCommand } from './commands/submit';
import { classifyCommand } from './commands/classify';
import { loraCommand } from './commands/lora-merge';
import { runsCommand } from './commands/runs';
import { finetunesCommand } from './commands/finetunes';

/**
 * The CLI's version, from its package.json (one directory above both src/ under Jest and dist/ when
 * built, so the same path serves both).
 */
export function cliVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Builds the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('forge')
    .description('LLM Forge: build, train and run GPT models in TypeScript')
    .version(cliVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const command of [
    trainCommand(),
    evalCommand(),
    generateCommand(),
    logitsCommand(),
    infoCommand(),
    prepareCommand(),
    finetuneCommand(),
    judgeCommand(),
    clusterCommand(),
    submitCommand(),
    classifyCommand(),
    loraCommand(),
    runsCommand(),
    finetunesCommand(),
  ]) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

/** Runs the CLI; resolves to the process exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    // commander already printed it (the version and help "errors" exit 0)
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`forge: ${(error as Error).message}\n`);
    if (process.env.FORGE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}
