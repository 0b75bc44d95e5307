import { DockerInstruction, DockerStage, ParsedDockerfile, stageArgs, substitute } from './dockerfile';

/**
 * Lints a parsed Dockerfile with rules in the spirit of hadolint (its rule id in brackets where
 * one matches). Returns `file:line: [rule] message` per problem.
 * - [DL3006/DL3007] every FROM names an image with a tag (not `latest`) or digest, after ARG
 *   defaults are substituted, or a previous stage;
 * - [multi-stage] at least two stages, each but the last named with AS;
 * - [DL3002] the final stage switches to a non-root USER (not root, not 0);
 * - [DL3020] no ADD: COPY copies files, and remote URLs are never fetched unpinned;
 * - [DL3000] WORKDIR is absolute;
 * - [DL3014/DL3015/DL3009] `apt-get install` with -y and --no-install-recommends, in a RUN
 *   that also deletes /var/lib/apt/lists;
 * - [DL3004] no sudo; [DL3025] CMD and ENTRYPOINT in JSON form; the final stage has one;
 * - [DL3022/DL3023] COPY --from names an earlier stage (never its own) or a pinned image;
 * - [DL3016] `npm install` of named packages pins each to an exact version.
 */
export function lintDockerfile(dockerfile: ParsedDockerfile): string[] {
  const problems: string[] = [];
  const report = (line: number, rule: string, message: string) =>
    problems.push(`${dockerfile.file}:${line}: [${rule}] ${message}`);
  const { stages } = dockerfile;
  if (stages.length < 2)
    report(1, 'multi-stage', 'build in one stage and copy only what runs into a final stage');
  stages.forEach((stage, index) => {
    const earlier = stages.slice(0, index).map((s) => s.name);
    const last = index === stages.length - 1;
    if (!last && !stage.name) report(stage.line, 'multi-stage', 'name every build stage (FROM ... AS name)');
    if (!earlier.includes(stage.resolvedImage))
      checkPinned(stage.resolvedImage, stage.line, 'DL3007', report);
    for (const instruction of stage.instructions)
      lintInstruction(dockerfile, stage, instruction, earlier, report);
    if (last) lintFinalStage(stage, report);
  });
  return problems;
}

type Report = (line: number, rule: string, message: string) => void;

function checkPinned(image: string, line: number, rule: string, report: Report): void {
  if (image.includes('$')) return report(line, rule, `image ${image} uses an ARG without a default`);
  if (image.includes('@sha256:')) return;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (!tag || tag === 'latest') report(line, rule, `pin image ${image} to a version tag or digest`);
}

function lintInstruction(
  dockerfile: ParsedDockerfile,
  stage: DockerStage,
  ins: DockerInstruction,
  earlier: (string | undefined)[],
  report: Report,
): void {
  switch (ins.keyword) {
    case 'ADD':
      report(
        ins.line,
        'DL3020',
        /^\S*:\/\//.test(ins.args)
          ? 'ADD of a URL: download in a RUN with a checksum'
          : 'use COPY instead of ADD',
      );
      break;
    case 'WORKDIR':
      if (!ins.args.startsWith('/') && !ins.args.startsWith('$'))
        report(ins.line, 'DL3000', `WORKDIR ${ins.args} must be absolute`);
      break;
    case 'RUN':
      lintRun(ins, substitute(ins.args, stageArgs(dockerfile, stage)), report);
      break;
    case 'CMD':
    case 'ENTRYPOINT':
      if (!ins.args.startsWith('['))
        report(ins.line, 'DL3025', `${ins.keyword} in JSON form, so signals reach the process`);
      break;
    case 'COPY':
      if (ins.from !== undefined) {
        if (ins.from === stage.name) report(ins.line, 'DL3023', 'COPY --from cannot copy from its own stage');
        else if (!earlier.includes(ins.from)) checkPinned(ins.from, ins.line, 'DL3022', report);
      }
      break;
  }
}

function lintRun(ins: DockerInstruction, command: string, report: Report): void {
  if (/(^|[;&|]\s*)sudo\s/.test(command)) report(ins.line, 'DL3004', 'do not use sudo');
  if (/apt-get\s+(\S+\s+)*install/.test(command)) {
    if (!/install\s+(\S+\s+)*(-y|--yes|--assume-yes)\b/.test(command))
      report(ins.line, 'DL3014', 'apt-get install needs -y');
    if (!command.includes('--no-install-recommends'))
      report(ins.line, 'DL3015', 'apt-get install --no-install-recommends');
    if (!command.includes('rm -rf /var/lib/apt/lists'))
      report(ins.line, 'DL3009', 'delete /var/lib/apt/lists in the same RUN');
  }
  for (const match of command.matchAll(/npm\s+(?:install|i|add)\s+([^&;|]*)/g)) {
    const packages = match[1].split(/\s+/).filter((t) => t && !t.startsWith('-') && !t.startsWith('/'));
    for (const pkg of packages.map((p) => p.replace(/^["']|["']$/g, ''))) {
      if (!/^(@[^/]+\/)?[^@]+@\d+\.\d+\.\d+/.test(pkg))
        report(ins.line, 'DL3016', `pin ${pkg} to an exact version (name@x.y.z)`);
    }
  }
}

function lintFinalStage(stage: DockerStage, report: Report): void {
  const users = stage.instructions.filter((i) => i.keyword === 'USER');
  const user = users[users.length - 1]?.args.split(':')[0];
  if (!user || user === 'root' || user === '0')
    report(stage.line, 'DL3002', 'the final stage must switch to a non-root USER');
  if (!stage.instructions.some((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT')) {
    report(stage.line, 'final-cmd', 'the final stage needs a CMD or ENTRYPOINT');
  }
}
