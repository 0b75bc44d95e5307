import { DockerfileParser } from 'dockerfile-ast';

/** One instruction: keyword, arguments (line continuations joined), 1-based line, COPY --from. */
export interface DockerInstruction {
  keyword: string;
  args: string;
  line: number;
  from?: string;
}

/** A build stage: its FROM (image as written and with ARG defaults substituted) and instructions. */
export interface DockerStage {
  name?: string;
  image: string;
  resolvedImage: string;
  line: number;
  instructions: DockerInstruction[];
}

/** A Dockerfile split into global ARG defaults and stages. */
export interface ParsedDockerfile {
  file: string;
  globalArgs: Map<string, string>;
  stages: DockerStage[];
}

/** Parses a Dockerfile (dockerfile-ast does the lexing: continuations, comments, escapes). */
export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const parsed = DockerfileParser.parse(text);
  const globalArgs = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const instruction of parsed.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    const args = (instruction.getRawArgumentsContent() ?? '')
      .replace(/\\\r?\n/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(' ').filter((t) => !t.startsWith('--'));
      stages.push({
        image,
        resolvedImage: substitute(image, globalArgs),
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        line,
        instructions: [],
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (keyword === 'ARG') {
        const [key, value] = splitAssignment(args);
        if (value !== undefined) globalArgs.set(key, value);
      }
      continue;
    }
    const fromFlag =
      'getFromFlag' in instruction
        ? (instruction as { getFromFlag(): { getValue(): string | null } | null }).getFromFlag()
        : null;
    stage.instructions.push({ keyword, args, line, from: fromFlag?.getValue() ?? undefined });
  }
  return { file, globalArgs, stages };
}

function splitAssignment(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1).replace(/^"(.*)"$/, '$1')];
}

/** `$VAR`, `${VAR}` and `${VAR:-default}` replaced from `vars` (unknown ones stay as written). */
function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, a, def, b) => {
      const name = (a ?? b) as string;
      return vars.get(name) ?? (def as string | undefined) ?? whole;
    },
  );
}

/** The ARG values visible in a stage: global defaults, then the stage's own ARG lines. */
export function stageArgs(dockerfile: ParsedDockerfile, stage: DockerStage): Map<string, string> {
  const vars = new Map<string, string>();
  for (const instruction of stage.instructions.filter((i) => i.keyword === 'ARG')) {
    const [key, value] = splitAssignment(instruction.args);
    const resolved = value ?? dockerfile.globalArgs.get(key);
    if (resolved !== undefined) vars.set(key, resolved);
  }
  return vars;
}
