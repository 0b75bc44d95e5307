/**
 * `forge finetune`: the parent of the finetuning commands (`classify`, `instruct`). Each
 * subcommand lives in its own file and is listed here.
 */
import { Command } from 'commander';
import { finetuneClassifyCommand } from './finetune-classify';
import { finetuneInstructCommand } from './finetune-instruct';

/** Builders of the `forge finetune` subcommands. */
const SUBCOMMANDS: Array<() => Command> = [finetuneClassifyCommand, finetuneInstructCommand];

/** Registers `forge finetune` with its subcommands. */
export function finetuneCommand(): Command {
  const command = new Command('finetune').description(
    'finetune a GPT checkpoint: spam classification (classify), instruction following (instruct)',
  );
  // Subcommands added with addCommand inherit nothing: each needs exitOverride to report errors
  // through main() instead of exiting the process.
  for (const build of SUBCOMMANDS) command.addCommand(build().exitOverride());
  return command;
}
