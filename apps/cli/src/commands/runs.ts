/**
 * `forge runs list|show|pause|resume|cancel|checkpoints|export|annotate|delete`: the runs of the coordinator
 * (FORGE_API_URL, else the local cluster), over its REST API. With `--json` the last stdout line is
 * the API's answer as JSON (export prints the file itself).
 */
import * as fs from 'fs';
import { Command, Option } from 'commander';
import { ForgeError } from '@llm-forge/gpt';
import type { ApiCheckpoint, ApiRun } from '../cluster/api-client';
import { connectCoordinator } from '../cluster/connect';
import { info, printJson } from '../output';
import { duration, fixed, formatTable } from '../table';

interface JsonFlag {
  json?: boolean;
}

/** Registers `forge runs`. */
export function runsCommand(): Command {
  const runs = new Command('runs').description('list and steer the runs of the coordinator');
  const sub = (name: string, description: string): Command =>
    runs
      .command(name)
      .description(description)
      .option('--json', 'print the API answer as JSON on the last line')
      .exitOverride();
  sub('list', 'the runs, newest first (archived ones with --all)')
    .option('--all', 'archived runs too')
    .option('--tag <tag>', 'only runs with this tag')
    .action((flags: JsonFlag & { all?: boolean; tag?: string }) => list(flags));
  sub('show', 'one run: status, progress, losses, checkpoints')
    .argument('<id>', 'run id')
    .action((id: string, flags: JsonFlag) => show(id, flags));
  sub('pause', 'pause a queued or running run')
    .argument('<id>', 'run id')
    .action((id: string, flags: JsonFlag) => act(id, 'paused', flags, (api) => api.pauseRun(id)));
  sub('resume', 'resume a paused run, where it stopped or from --checkpoint')
    .argument('<id>', 'run id')
    .option('--checkpoint <name>', 'a checkpoint of the run, e.g. step-000100 (forge runs checkpoints ID)')
    .action((id: string, flags: JsonFlag & { checkpoint?: string }) =>
      act(id, 'resumed', flags, (api) => api.resumeRun(id, flags.checkpoint)),
    );
  sub('cancel', 'cancel a run that has not finished')
    .argument('<id>', 'run id')
    .action((id: string, flags: JsonFlag) => act(id, 'cancelled', flags, (api) => api.cancelRun(id)));
  sub('checkpoints', "the run's checkpoints by step")
    .argument('<id>', 'run id')
    .action((id: string, flags: JsonFlag) => checkpoints(id, flags));
  sub('annotate', 'set tags or notes of a run, or archive it (hidden from runs list unless --all)')
    .argument('<id>', 'run id')
    .option('--tags <list>', 'the tags, comma-separated (replaces the current ones; "" clears them)')
    .option('--notes <text>', 'the notes (replaces the current ones)')
    .option('--archive', 'archive the run')
    .option('--unarchive', 'bring an archived run back')
    .action((id: string, flags: JsonFlag & AnnotateFlags) => annotate(id, flags));
  sub('delete', "delete a finished run's record (its checkpoints stay unless --files)")
    .argument('<id>', 'run id')
    .option('--files', 'remove its checkpoint directory too')
    .action((id: string, flags: JsonFlag & { files?: boolean }) => remove(id, flags));
  sub('export', "the run's step metrics as CSV (a header, one line per step) or JSON lines")
    .argument('<id>', 'run id')
    .addOption(new Option('--format <format>', 'file format').choices(['csv', 'jsonl']).default('csv'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action((id: string, flags: JsonFlag & { format: 'csv' | 'jsonl'; out?: string }) =>
      exportMetrics(id, flags),
    );
  return runs;
}

async function list(flags: JsonFlag & { all?: boolean; tag?: string }): Promise<void> {
  const runs = (await connectCoordinator().api.runs()).filter(
    (r) => (flags.all || !r.archived) && (flags.tag === undefined || (r.tags ?? []).includes(flags.tag)),
  );
  if (flags.json) return printJson(runs);
  if (runs.length === 0) return info(false, 'no runs (submit one with forge submit pretrain)');
  const header = ['ID', 'NAME', 'STATUS', 'STEP', 'BEST VAL', 'FINAL VAL', 'TOK/S', 'DURATION', 'TAGS'];
  info(false, formatTable(header, runs.map(row)));
}

function row(r: ApiRun): string[] {
  return [
    r.id,
    r.name ?? '',
    r.archived ? `${r.status} (archived)` : r.status,
    `${r.progress.step}/${r.progress.totalSteps}`,
    fixed(r.bestValLoss, 3),
    fixed(r.finalValLoss, 3),
    fixed(r.tokensPerSecond, 0),
    duration(r.durationSeconds),
    (r.tags ?? []).join(','),
  ];
}

async function show(id: string, flags: JsonFlag): Promise<void> {
  const run = await connectCoordinator().api.run(id);
  if (flags.json) return printJson(run);
  const lastEval = run.evals?.at(-1);
  const lines = [
    `run ${run.id}${run.name ? ` (${run.name})` : ''}: ${run.status}${run.error ? ` — ${run.error}` : ''}`,
    `step ${run.progress.step} of ${run.progress.totalSteps}, attempt ${run.progress.attempt}, ${run.members?.length ?? 0} of ${run.spec?.workers ?? '?'} workers`,
    `train loss ${fixed(run.metrics?.at(-1)?.loss, 3)}; validation loss best ${fixed(run.bestValLoss, 3)}, final ${fixed(run.finalValLoss, 3)}${lastEval ? ` (step ${lastEval.step})` : ''}`,
    `${fixed(run.tokensPerSecond, 0)} tokens/s, ${run.tokensSeen ?? 0} tokens seen, running for ${duration(run.durationSeconds)}${run.etaSeconds !== undefined ? `, ETA ${duration(run.etaSeconds)}` : ''}`,
    `checkpoints in ${run.checkpointDir}${run.lastCheckpoint ? ` (newest ${run.lastCheckpoint})` : ''}`,
  ];
  if (run.tags?.length) lines.push(`tags: ${run.tags.join(', ')}`);
  if (run.notes) lines.push(`notes: ${run.notes}`);
  const sample = run.samples?.at(-1);
  if (sample) lines.push(`sample at step ${sample.step}: ${JSON.stringify(sample.text)}`);
  info(false, lines.join('\n'));
}

async function act(
  id: string,
  done: string,
  flags: JsonFlag,
  call: (api: ReturnType<typeof connectCoordinator>['api']) => Promise<ApiRun>,
): Promise<void> {
  const run = await call(connectCoordinator().api);
  info(
    flags.json,
    `run ${id} ${done}: now ${run.status} at step ${run.progress.step} of ${run.progress.totalSteps}`,
  );
  if (flags.json) printJson(run);
}

async function checkpoints(id: string, flags: JsonFlag): Promise<void> {
  const list = await connectCoordinator().api.checkpoints(id);
  if (flags.json) return printJson(list);
  if (list.length === 0) return info(false, `run ${id} has no checkpoints yet`);
  info(false, formatTable(['NAME', 'STEP', 'COMPLETE', 'SIZE', 'MODIFIED'], list.map(checkpointRow)));
}

function checkpointRow(c: ApiCheckpoint): string[] {
  const size = c.sizeBytes === undefined ? '-' : `${(c.sizeBytes / 2 ** 20).toFixed(1)} MiB`;
  return [
    c.latest ? `${c.name} (latest)` : c.name,
    String(c.step ?? '-'),
    c.complete ? 'yes' : 'no',
    size,
    c.modifiedAt ?? '-',
  ];
}

interface AnnotateFlags {
  tags?: string;
  notes?: string;
  archive?: boolean;
  unarchive?: boolean;
}

/** Sends the annotations given; refuses a call that changes nothing, or archives and unarchives at once. */
async function annotate(id: string, flags: JsonFlag & AnnotateFlags): Promise<void> {
  if (flags.archive && flags.unarchive)
    throw new ForgeError('give either --archive or --unarchive, not both');
  const patch = {
    ...(flags.tags !== undefined ? { tags: flags.tags.split(/[\s,]+/).filter(Boolean) } : {}),
    ...(flags.notes !== undefined ? { notes: flags.notes } : {}),
    ...(flags.archive || flags.unarchive ? { archived: Boolean(flags.archive) } : {}),
  };
  if (Object.keys(patch).length === 0) {
    throw new ForgeError('nothing to change', 'give --tags, --notes, --archive or --unarchive');
  }
  const run = await connectCoordinator().api.annotateRun(id, patch);
  const tags = (run.tags ?? []).join(', ') || 'none';
  info(flags.json, `run ${id}: tags ${tags}${run.archived ? '; archived' : ''}`);
  if (flags.json) printJson(run);
}

async function remove(id: string, flags: JsonFlag & { files?: boolean }): Promise<void> {
  const result = await connectCoordinator().api.deleteRun(id, Boolean(flags.files));
  info(
    flags.json,
    `run ${id} deleted${result.removedDir ? `; removed ${result.removedDir}` : ' (its checkpoints stay)'}`,
  );
  if (flags.json) printJson(result);
}

/** Prints or writes the export; `--json` asks for JSON lines (the machine-readable format). */
async function exportMetrics(
  id: string,
  flags: JsonFlag & { format: 'csv' | 'jsonl'; out?: string },
): Promise<void> {
  const format = flags.json ? 'jsonl' : flags.format;
  const text = await connectCoordinator().api.exportMetrics(id, format);
  if (flags.out === undefined) {
    process.stdout.write(text);
    return;
  }
  fs.writeFileSync(flags.out, text);
  info(
    false,
    `wrote ${text.trim() === '' ? 0 : text.trim().split('\n').length - (format === 'csv' ? 1 : 0)} steps to ${flags.out}`,
  );
}
