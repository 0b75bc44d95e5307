/**
 * `forge finetunes list|show|cancel`: the finetune jobs of the coordinator (FORGE_API_URL, else the
 * local cluster), over its REST API; `--json` prints the API's answer on the last stdout line.
 */
import { Command } from 'commander';
import type { ApiFinetune } from '../cluster/api-client';
import { connectCoordinator } from '../cluster/connect';
import { info, printJson } from '../output';
import { fixed, formatTable } from '../table';

interface JsonFlag {
  json?: boolean;
}

/** Registers `forge finetunes`. */
export function finetunesCommand(): Command {
  const finetunes = new Command('finetunes').description(
    'list and cancel the finetune jobs of the coordinator',
  );
  const sub = (name: string, description: string): Command =>
    finetunes
      .command(name)
      .description(description)
      .option('--json', 'print the API answer as JSON on the last line')
      .exitOverride();
  sub('list', 'the finetune jobs, newest first').action((flags: JsonFlag) => list(flags));
  sub('show', 'one job: status, progress, losses, evaluation')
    .argument('<id>', 'finetune id')
    .action((id: string, flags: JsonFlag) => show(id, flags));
  sub('cancel', 'cancel a job that has not finished')
    .argument('<id>', 'finetune id')
    .action((id: string, flags: JsonFlag) => cancel(id, flags));
  return finetunes;
}

async function list(flags: JsonFlag): Promise<void> {
  const jobs = await connectCoordinator().api.finetunes();
  if (flags.json) return printJson(jobs);
  if (jobs.length === 0) return info(false, 'no finetune jobs (submit one with forge submit finetune)');
  const header = ['ID', 'NAME', 'KIND', 'STATUS', 'STEP', 'EPOCH', 'BASE'];
  info(false, formatTable(header, jobs.map(row)));
}

function row(job: ApiFinetune): string[] {
  const { step, totalSteps, epoch } = job.progress;
  return [
    job.id,
    job.name ?? '',
    job.kind ?? '',
    job.status,
    // a job that has not started knows no total yet: "0/0" would read as done
    totalSteps > 0 ? `${step}/${totalSteps}` : '-',
    totalSteps > 0 ? String(epoch) : '-',
    job.baseCheckpoint ?? '(random weights)',
  ];
}

async function show(id: string, flags: JsonFlag): Promise<void> {
  const job = await connectCoordinator().api.finetune(id);
  if (flags.json) return printJson(job);
  const last = job.metrics?.at(-1) as Record<string, unknown> | undefined;
  const lines = [
    `finetune ${job.id}${job.name ? ` (${job.name})` : ''}: ${job.kind ?? ''} ${job.status}${job.error ? ` — ${job.error}` : ''}`,
    `step ${job.progress.step} of ${job.progress.totalSteps || '?'}, epoch ${job.progress.epoch}, attempt ${job.progress.attempt}`,
    `base ${job.baseCheckpoint ?? '(random weights)'}; output in ${job.outDir}`,
  ];
  if (job.trainableParameters !== undefined) lines.push(`${job.trainableParameters} trainable parameters`);
  if (last) lines.push(`last logged: ${JSON.stringify(last)}`);
  const evaluation = job.evaluation as { accuracy?: Record<string, number> } | undefined;
  if (evaluation?.accuracy) {
    const acc = Object.entries(evaluation.accuracy).map(([split, a]) => `${split} ${fixed(a * 100, 1)}%`);
    lines.push(`accuracy: ${acc.join(', ')}`);
  }
  if (job.modelDir) lines.push(`model: ${job.modelDir}`);
  info(false, lines.join('\n'));
}

async function cancel(id: string, flags: JsonFlag): Promise<void> {
  const job = await connectCoordinator().api.cancelFinetune(id);
  info(flags.json, `finetune ${id} cancelled: now ${job.status}`);
  if (flags.json) printJson(job);
}
