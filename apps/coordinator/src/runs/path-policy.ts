/**
 * Where a request may make the cluster write and read (issue 14: a run wrote its checkpoints under
 * /etc, another deleted a second run's step-000040 and step-000050 and moved its `latest`, and
 * `data.text: /etc/passwd` trained to completion).
 *
 * - Outputs (`out` of a run) lie strictly inside the runs directory (FORGE_RUNS_DIR) or a directory
 *   the operator lists in FORGE_OUTPUT_ROOTS, and never in a directory that holds another run's
 *   checkpoints (or that a known run writes to), unless the run resumes from a checkpoint there.
 * - Inputs (texts, manifests, init models, datasets, base checkpoints) lie inside FORGE_DATA_ROOTS,
 *   the runs directory or an output root — outside local mode. In local mode the cluster is the
 *   user's own, on their machine, so any file they can read is theirs to train on.
 *
 * Paths are compared after resolving symbolic links of every existing component, so a link inside
 * an allowed directory that points elsewhere is judged by where it points.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LATEST_FILE, MODEL_CONFIG_FILE, parseCheckpointName } from '@llm-forge/cluster-protocol';
import type { CoordinatorConfig } from '../config/config.schema';
import { invalid } from './input-checks';

/** The directories a request's paths are judged against. */
export interface PathPolicy {
  /** Local mode: inputs may come from anywhere the coordinator can read. */
  localMode: boolean;
  /** The runs directory (absolute, links resolved). */
  runsDir: string;
  /** Further directories outputs may go to (absolute, links resolved). */
  outputRoots: string[];
  /** Directories inputs may come from outside local mode (absolute, links resolved). */
  dataRoots: string[];
}

/** The policy of a configuration. */
export function pathPolicyOf(config: CoordinatorConfig): PathPolicy {
  return {
    localMode: config.localMode,
    runsDir: realPathOfNearest(path.resolve(config.runsDir)),
    outputRoots: config.outputRoots.map((r) => realPathOfNearest(r)),
    dataRoots: config.dataRoots.map((r) => realPathOfNearest(r)),
  };
}

/**
 * `p` (absolute) with the symbolic links of its longest existing prefix resolved, the rest
 * appended: where a file would land or is read from, whether or not it exists yet.
 */
export function realPathOfNearest(p: string): string {
  const rest: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(p);
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

/** Whether `child` is `parent` or lies below it (both absolute and normalised). */
export function isWithin(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function list(dirs: readonly string[]): string {
  return dirs.length > 0 ? dirs.join(', ') : 'none';
}

/**
 * Throws a 400 naming `field` when the input at `p` (a resolved file or directory) lies outside
 * what the cluster reads from; local mode allows any path.
 */
export function confineInput(field: string, p: string, policy: PathPolicy): void {
  if (policy.localMode) return;
  const real = realPathOfNearest(p);
  const roots = [...policy.dataRoots, policy.runsDir, ...policy.outputRoots];
  if (roots.some((root) => isWithin(real, root))) return;
  throw invalid(
    field,
    `${p} is outside the directories this cluster reads inputs from (FORGE_DATA_ROOTS: ${list(policy.dataRoots)}; the runs directory ${policy.runsDir}${policy.outputRoots.length ? `; FORGE_OUTPUT_ROOTS: ${list(policy.outputRoots)}` : ''}): put it there, or ask the operator to add its directory to FORGE_DATA_ROOTS`,
  );
}

/** What else bears on an output directory: the run's own resume, and where known runs write. */
export interface OutputContext {
  /** The checkpoint the run resumes from (`model.resume` with `model.init`), if it does. */
  resumeFrom?: string;
  /** Checkpoint directories of the runs the coordinator knows (absolute). */
  otherRunDirs: readonly string[];
}

/** Whether `dir` holds checkpoints: a `latest` file, a `step-NNNNNN` folder or a model's config.json. */
function holdsCheckpoints(dir: string): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return false;
  }
  return entries.some(
    (e) => e === LATEST_FILE || e === MODEL_CONFIG_FILE || parseCheckpointName(e) !== undefined,
  );
}

/**
 * The output directory `out` resolved (links included), or a 400 naming `field` when it lies
 * outside the runs directory and FORGE_OUTPUT_ROOTS, is one of those roots itself, or is (or lies
 * in or around) another run's checkpoint directory — unless the run resumes from a checkpoint of
 * that very directory.
 */
export function checkOutputDir(
  field: string,
  out: string,
  policy: PathPolicy,
  context: OutputContext,
): string {
  const real = realPathOfNearest(path.resolve(out));
  const roots = [policy.runsDir, ...policy.outputRoots];
  const root = roots.find((r) => isWithin(real, r));
  if (!root) {
    throw invalid(
      field,
      `${out} is outside the directories runs may write to (the runs directory ${policy.runsDir}; FORGE_OUTPUT_ROOTS: ${list(policy.outputRoots)}): leave out empty for <runs dir>/<run id>, or name a directory inside one of them`,
    );
  }
  if (real === root) {
    throw invalid(
      field,
      `${out} is the runs directory itself: name a directory inside it, or leave out empty`,
    );
  }
  const resumesHere =
    context.resumeFrom !== undefined && isWithin(realPathOfNearest(context.resumeFrom), real);
  if (resumesHere) return real;
  const taken = context.otherRunDirs
    .map((d) => realPathOfNearest(d))
    .find((d) => isWithin(real, d) || isWithin(d, real));
  if (taken !== undefined) {
    throw invalid(
      field,
      `${out} is where another run writes its checkpoints (${taken}); a new run there would delete them: choose another directory, or resume that run (POST /runs/:id/resume)`,
    );
  }
  if (holdsCheckpoints(real)) {
    throw invalid(
      field,
      `${out} already holds checkpoints (a latest file, step-NNNNNN folders or a model); a new run there would replace and delete them: choose an empty or new directory, or resume from them with model.init ${path.join(out, LATEST_FILE)} and model.resume true`,
    );
  }
  return real;
}
