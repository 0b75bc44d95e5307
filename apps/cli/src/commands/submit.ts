/** `forge submit pretrain`: submits a pretraining run to the running coordinator, and optionally follows it. */
import { Command } from 'commander';
import { BUILTIN_TEXT, PRETRAIN_DEFAULTS as D } from '@llm-forge/cluster-protocol';
import { ForgeError } from '@llm-forge/gpt';
import { CoordinatorApi, type ApiRun } from '../cluster/api-client';
import { followJob } from '../cluster/follow-job';
import { type ClusterState } from '../cluster/cluster-state';
import { connectCoordinator } from '../cluster/connect';
import { nonNegativeInt, positiveInt } from '../options';
import { info, printJson } from '../output';
import { TrainProgress } from '../progress';
import { trainingSummary } from '../training-summary';
import { coordinatorModelRef, coordinatorPath } from '../references';
import { addTrainingOptions, given, sharedSpecFields, type TrainingFlags } from '../training-options';
import { addSubmitFinetune } from './submit-finetune';

interface SubmitFlags extends TrainingFlags {
  data?: string;
  workers?: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  microBatchSize?: number;
  wireDtype: 'f32' | 'bf16';
  name?: string;
  wait?: boolean;
}

/** Registers `forge submit`. */
export function submitCommand(): Command {
  const submit = new Command('submit').description('submit work to the running coordinator');
  const pretrain = addTrainingOptions(
    new Command('pretrain').description('submit a data-parallel pretraining run (same flags as forge train)'),
    'global batch: windows per optimizer step over all workers',
    `training text readable by every worker: a UTF-8 file, or ${BUILTIN_TEXT}`,
  )
    .option('--data <dir>', 'a dataset prepared by forge prepare (manifest directory), instead of --text')
    .option(
      '--workers <N>',
      `workers in the ring (default: every worker of the local cluster, at most --batch-size; else ${D.workers})`,
      positiveInt,
    )
    .option(
      '--checkpoint-every <K>',
      'checkpoint every K steps (0: only at the end)',
      nonNegativeInt,
      D.checkpointEvery,
    )
    .option('--keep-checkpoints <M>', 'keep the newest M step checkpoints', positiveInt, D.keepCheckpoints)
    .option(
      '--micro-batch-size <b>',
      'rows per forward/backward on a worker (accumulate the rest)',
      positiveInt,
    )
    .option('--wire-dtype <t>', 'gradient encoding on the ring: f32 or bf16', D.wireDType)
    .option('--name <name>', 'a name for the run')
    .option('--out <dir>', 'checkpoint directory (default: <runs dir>/<run id>)')
    .option('--wait', 'follow the run until it ends')
    .action((flags: SubmitFlags, command: Command) => submitPretrain(flags, given(command, 'text')))
    .exitOverride();
  submit.addCommand(pretrain);
  addSubmitFinetune(submit, connectCoordinator);
  return submit;
}

/**
 * The run spec of the flags (the coordinator checks it, files included, and names bad fields); local
 * paths are made absolute, since the coordinator and the workers run elsewhere.
 */
function specOf(flags: SubmitFlags, textGiven: boolean, defaultWorkers: number): object {
  if (flags.data && textGiven) throw new ForgeError('give either --data or --text, not both');
  if (flags.wireDtype !== 'f32' && flags.wireDtype !== 'bf16') {
    throw new ForgeError(`--wire-dtype must be f32 or bf16, got ${JSON.stringify(flags.wireDtype)}`);
  }
  const shared = sharedSpecFields(flags, { model: coordinatorModelRef, text: coordinatorPath });
  return {
    ...shared,
    ...(flags.name ? { name: flags.name } : {}),
    data: flags.data
      ? { manifest: coordinatorPath(flags.data), valFraction: flags.valFraction }
      : shared.data,
    workers: flags.workers ?? Math.min(defaultWorkers, flags.batchSize),
    checkpointEvery: flags.checkpointEvery,
    keepCheckpoints: flags.keepCheckpoints,
    microBatchSize: flags.microBatchSize,
    wireDType: flags.wireDtype,
    out: flags.out === undefined ? undefined : coordinatorPath(flags.out),
  };
}

async function submitPretrain(flags: SubmitFlags, textGiven: boolean): Promise<void> {
  const { api, dashboardUrl, workers } = connectCoordinator();
  const run = await api.createRun(specOf(flags, textGiven, workers ?? D.workers));
  info(
    flags.json,
    `submitted ${run.id}${dashboardUrl ? `; follow it at ${dashboardUrl}#/runs/${run.id}` : ''}`,
  );
  const result = flags.wait ? await follow(api, run.id, Boolean(flags.json)) : summary(run);
  if (flags.json) printJson(result);
}

/**
 * Submits the quick start's run to a local cluster — the defaults of every run (PRETRAIN_DEFAULTS),
 * data-parallel over the cluster's workers (at most the batch) — and returns its summary.
 */
export async function submitDefaultRun(
  state: ClusterState,
  options: { wait: boolean; json: boolean },
): Promise<object> {
  const api = new CoordinatorApi(state.apiUrl, state.token);
  // Everything else is the coordinator's default, which is PRETRAIN_DEFAULTS too.
  const run = await api.createRun({ workers: Math.min(state.workers.length, D.batchSize) });
  info(
    options.json,
    `submitted the default run ${run.id} (${D.preset} GPT, ${D.text}, ${D.steps} steps, global batch ${D.batchSize})`,
  );
  info(
    options.json,
    `follow it at ${state.dashboardUrl}#/runs/${run.id} or: curl -H "Authorization: Bearer ${state.token}" ${state.apiUrl}/runs/${run.id}`,
  );
  return options.wait ? follow(api, run.id, options.json) : summary(run);
}

/**
 * Polls the run until it ends, with a progress bar, through coordinator restarts (followJob);
 * throws when it failed or was cancelled.
 */
async function follow(api: CoordinatorApi, id: string, json: boolean): Promise<object> {
  const first = await api.run(id);
  const progress = new TrainProgress(first.progress.totalSteps, first.progress.step, json);
  let reported = 0;
  let seenEvals = 0;
  let ringSize: number | undefined;
  const run = await followJob(() => api.run(id), {
    onOutage: (line) => progress.log(line),
    onJob: (run) => {
      ringSize = reportRing(run, ringSize, (line) => progress.log(line));
      const last = (run.metrics ?? []).at(-1);
      if (last && run.progress.step !== reported) {
        reported = run.progress.step;
        progress.step(run.progress.step, run.progress.totalSteps, last.loss, last.tokensPerSecond ?? 0);
      }
      for (const e of (run.evals ?? []).slice(seenEvals)) {
        const val = e.valLoss === undefined ? '' : `, val loss ${e.valLoss.toFixed(3)}`;
        progress.log(`step ${e.step}: train loss ${e.trainLoss.toFixed(3)}${val}`);
      }
      seenEvals = run.evals?.length ?? 0;
      return ['completed', 'failed', 'cancelled'].includes(run.status);
    },
  });
  progress.stop();
  if (run.status !== 'completed') {
    throw new ForgeError(`run ${id} ${run.status}${run.error ? `: ${run.error}` : ''}`);
  }
  info(json, `run ${id} completed; checkpoints in ${run.checkpointDir}`);
  return summary(run);
}

/**
 * Says when the run's ring is smaller than the workers it asked for (a resumed or rewound run takes
 * the free workers) and when that changes; returns the size now. The losses do not depend on it.
 */
function reportRing(
  run: ApiRun,
  before: number | undefined,
  log: (line: string) => void,
): number | undefined {
  const now = run.members?.length;
  const asked = run.spec?.workers;
  if (now === undefined || asked === undefined || now === before) return before ?? now;
  if (now < asked)
    log(`training on ${now} of ${asked} workers (the others are busy or lost); the losses are the same`);
  else if (before !== undefined) log(`training on all ${asked} workers again`);
  return now;
}

/** The run as the JSON summary `--json` prints (the fields of forge train --json, defined once in trainingSummary). */
function summary(run: ApiRun): object {
  const metrics = run.metrics ?? [];
  return {
    run_id: run.id,
    status: run.status,
    steps: run.progress.step,
    ...trainingSummary({
      stepLosses: metrics.map((m) => m.loss),
      tokensPerSecond: metrics.map((m) => m.tokensPerSecond).filter((r): r is number => r !== undefined),
      lastEval: run.evals?.at(-1),
      sample: run.samples?.at(-1)?.text,
    }),
    checkpoint_dir: run.checkpointDir,
    latest_checkpoint: run.lastCheckpoint ?? null,
  };
}
