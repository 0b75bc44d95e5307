import { validate, ValidationSeverity, ValidatorSettings } from 'dockerfile-utils';
import * as fs from 'fs';
import * as path from 'path';
import { isPinned } from '../image-ref';
import { DockerInstruction, parseDockerfile, ParsedDockerfile } from './dockerfile';

/**
 * dockerfile-utils' optional rules (relative WORKDIR, several CMDs in a stage, JSON in single
 * quotes, casing, deprecated MAINTAINER, ...) all raised to errors: its syntax checks (unknown
 * instructions and flags, bad arguments, ports, durations) always are.
 */
const EVERY_RULE: Required<ValidatorSettings> = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

/**
 * Lints a Dockerfile built with `context` as its build context. Returns `file:line: message` per
 * problem, from two sources:
 * - dockerfile-utils' validator (the linter behind VS Code's Dockerfile support), every rule on;
 * - our policy, which no linter installable here checks: every base image (FROM, ARG defaults
 *   substituted, and COPY --from of an image) is pinned to a tag or digest; the final stage runs
 *   as a non-root USER; every file a COPY takes from the context exists.
 */
export function lintDockerfile(text: string, file: string, context: string): string[] {
  const diagnostics = validate(text, EVERY_RULE).map(
    (d) => `${file}:${d.range.start.line + 1}: ${d.message}`,
  );
  return [...diagnostics, ...policyProblems(parseDockerfile(text, file), context)];
}

function policyProblems(dockerfile: ParsedDockerfile, context: string): string[] {
  const problems: string[] = [];
  const report = (line: number, message: string) => problems.push(`${dockerfile.file}:${line}: ${message}`);
  dockerfile.stages.forEach((stage, index) => {
    const earlier = new Set(dockerfile.stages.slice(0, index).map((s) => s.name));
    if (!earlier.has(stage.resolvedImage)) checkPinned(stage.resolvedImage, stage.line, report);
    for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
      if (copy.from === undefined) checkSources(copy, context, report);
      else if (!earlier.has(copy.from) && !/^\d+$/.test(copy.from)) checkPinned(copy.from, copy.line, report);
    }
  });
  const last = dockerfile.stages[dockerfile.stages.length - 1];
  const users = last?.instructions.filter((i) => i.keyword === 'USER') ?? [];
  const user = users[users.length - 1]?.args.split(':')[0];
  if (last && (!user || user === 'root' || user === '0'))
    report(last.line, 'the final stage must switch to a non-root USER');
  return problems;
}

function checkPinned(image: string, line: number, report: (line: number, message: string) => void): void {
  if (image.includes('$')) report(line, `image ${image} uses an ARG without a default`);
  else if (!isPinned(image)) report(line, `pin image ${image} to a version tag or digest`);
}

/** COPY's sources (flags dropped, the destination last) that are not in the build context. */
function checkSources(
  copy: DockerInstruction,
  context: string,
  report: (line: number, message: string) => void,
): void {
  const operands = copy.args.replace(/(^|\s)--\S+/g, ' ').trim();
  const paths = operands.startsWith('[') ? (JSON.parse(operands) as string[]) : operands.split(' ');
  for (const source of paths.slice(0, -1)) {
    // A wildcard matches inside its directory: that directory must exist.
    const literal = /[*?[]/.test(source) ? path.dirname(source) : source;
    if (!fs.existsSync(path.join(context, literal)))
      report(copy.line, `COPY ${source}: not in the build context ${context}`);
  }
}
