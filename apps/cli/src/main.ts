/** The `forge` command line: single-machine pretraining, evaluation and generation. */
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

/** Builds the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('forge')
    .description('LLM Forge: build, train and run GPT models in TypeScript')
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
    if (error instanceof CommanderError) return error.exitCode; // commander already printed it
    process.stderr.write(`forge: ${(error as Error).message}\n`);
    if (process.env.FORGE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}
