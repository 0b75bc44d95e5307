import * as fs from 'fs';
import * as path from 'path';
import { COORDINATOR, WORKER } from '../app-contract';
import { appSourceRoots, unreadVariables } from '../source-usage';
import { REPO_ROOT } from '../test-utils/k8s-tree';
import { parseDockerfile, ParsedDockerfile, stageArgs } from './dockerfile';
import { lintDockerfile } from './lint-dockerfile';

const DOCKER_DIR = path.join(REPO_ROOT, 'docker');
const IMAGES = {
  'coordinator.Dockerfile': { app: COORDINATOR, dir: 'coordinator' },
  'worker-cpu.Dockerfile': { app: WORKER, dir: 'worker' },
  'worker-gpu.Dockerfile': { app: WORKER, dir: 'worker' },
} as const;

function read(name: string): string {
  return fs.readFileSync(path.join(DOCKER_DIR, name), 'utf8');
}

function load(name: string): ParsedDockerfile {
  return parseDockerfile(read(name), `docker/${name}`);
}

function finalStage(dockerfile: ParsedDockerfile) {
  return dockerfile.stages[dockerfile.stages.length - 1];
}

/** Every RUN command of the file, ARGs substituted. */
function runCommands(dockerfile: ParsedDockerfile): string[] {
  return dockerfile.stages.flatMap((stage) =>
    stage.instructions
      .filter((i) => i.keyword === 'RUN')
      .map((i) =>
        i.args.replace(/\$\{(\w+)\}/g, (whole, v: string) => stageArgs(dockerfile, stage).get(v) ?? whole),
      ),
  );
}

const workspaces = new Map(
  ['apps', 'libs']
    .flatMap((group) => fs.readdirSync(path.join(REPO_ROOT, group)).map((d) => path.join(group, d)))
    .concat(['infra'])
    .filter((dir) => fs.existsSync(path.join(REPO_ROOT, dir, 'package.json')))
    .map((dir) => [
      JSON.parse(fs.readFileSync(path.join(REPO_ROOT, dir, 'package.json'), 'utf8')).name as string,
      dir,
    ]),
);

describe('docker/*.Dockerfile', () => {
  it('are exactly the three images', () => {
    expect(
      fs
        .readdirSync(DOCKER_DIR)
        .filter((f) => f.endsWith('.Dockerfile'))
        .sort(),
    ).toEqual(Object.keys(IMAGES).sort());
  });

  it.each(Object.keys(IMAGES))(
    '%s passes dockerfile-utils and our policy (built from the repository root)',
    (name) => {
      expect(lintDockerfile(read(name), `docker/${name}`, REPO_ROOT)).toEqual([]);
    },
  );

  it.each(Object.entries(IMAGES))(
    '%s starts its app, exposes its ports and sets only variables the app reads',
    (name, { app, dir }) => {
      const stage = finalStage(load(name));
      const cmd = JSON.parse(stage.instructions.find((i) => i.keyword === 'CMD')!.args) as string[];
      expect(cmd).toEqual(['node', `apps/${dir}/dist/main.js`]);
      expect(fs.existsSync(path.join(REPO_ROOT, 'apps', dir, 'src', 'main.ts'))).toBe(true);
      const exposed = stage.instructions
        .filter((i) => i.keyword === 'EXPOSE')
        .flatMap((i) => i.args.split(' ').map(Number));
      expect(exposed.sort()).toEqual(app.ports.map((p) => p.default).sort());
      const env = new Map(
        stage.instructions
          .filter((i) => i.keyword === 'ENV')
          .flatMap((i) => i.args.split(' ').map((pair) => pair.split('=') as [string, string])),
      );
      for (const port of app.ports.filter((p) => p.env && env.has(p.env)))
        expect(Number(env.get(port.env!))).toBe(port.default);
      expect(unreadVariables(env.keys(), appSourceRoots(REPO_ROOT, dir))).toEqual([]);
    },
  );

  it.each(Object.keys(IMAGES))('%s builds only what exists: tsconfigs, workspaces, staged apps', (name) => {
    for (const command of runCommands(load(name))) {
      for (const [, tsconfigs] of command.matchAll(/npx tsc -b ((?:\S+\.json ?)+)/g)) {
        for (const file of tsconfigs.trim().split(' '))
          expect(fs.existsSync(path.join(REPO_ROOT, file))).toBe(true);
      }
      for (const [, workspace] of command.matchAll(/--workspace (\S+)/g))
        expect(workspaces.has(workspace)).toBe(true);
      for (const [, dirs] of command.matchAll(/stage-outputs\.sh \/out ((?:apps\/\S+ ?)+)/g)) {
        for (const dir of dirs.trim().split(' '))
          expect(fs.existsSync(path.join(REPO_ROOT, dir, 'package.json'))).toBe(true);
      }
    }
  });

  it('pins the base images to a Node.js the repository supports', () => {
    const engines = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).engines
      .node as string;
    const [major, minor] = /^>=(\d+)\.(\d+)/.exec(engines)!.slice(1).map(Number);
    for (const name of Object.keys(IMAGES)) {
      const version = load(name).globalArgs.get('NODE_VERSION')!;
      const [vMajor, vMinor] = version.split('.').map(Number);
      expect(vMajor > major || (vMajor === major && vMinor >= minor)).toBe(true);
    }
  });

  it('installs the tfjs-node-gpu that matches the lockfile tfjs-core (one tfjs engine)', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    const core = lock.packages['node_modules/@tensorflow/tfjs-core'].version as string;
    const gpu = load('worker-gpu.Dockerfile');
    expect(gpu.globalArgs.get('TFJS_VERSION')).toBe(core);
    expect(runCommands(gpu).join('\n')).toContain(`@tensorflow/tfjs-node-gpu@${core}`);
    const env = finalStage(gpu)
      .instructions.filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toContain('FORGE_BACKEND=tensorflow');
    expect(
      finalStage(load('worker-cpu.Dockerfile'))
        .instructions.map((i) => i.args)
        .join(' '),
    ).toContain('FORGE_BACKEND=native');
  });

  it('the CPU image builds the native addon where the backend loads it, and fails when it is missing', () => {
    const commands = runCommands(load('worker-cpu.Dockerfile')).join('\n');
    const addon = 'libs/tfjs-backend-native/build/Release/forge_native.node';
    expect(commands).toContain(`test -f ${addon}`);
    // ... and the runtime stage loads it with the runtime's shared libraries.
    const runtime = finalStage(load('worker-cpu.Dockerfile')).instructions.filter((i) => i.keyword === 'RUN');
    expect(runtime.map((i) => i.args).join('\n')).toContain(
      `process.dlopen({ exports: {} }, '/app/${addon}')`,
    );
    const loader = fs.readFileSync(
      path.join(REPO_ROOT, 'libs/tfjs-backend-native/src/lib/native/native-addon.ts'),
      'utf8',
    );
    expect(loader).toContain("'build', 'Release', 'forge_native.node'");
  });
});

describe('.dockerignore', () => {
  const lines = fs
    .readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim());

  // Our policy: secrets never enter an image layer, and host builds never shadow what the build
  // stages compile (a host forge_native.node would pass the CPU image's `test -f`). Each pattern
  // is listed as written, and nothing re-includes: with no `!` line, a listed pattern excludes.
  it('keeps secrets and host builds out of the build context', () => {
    for (const pattern of [
      'infra/k8s/base/secrets.env',
      '**/.env',
      '**/*.env',
      '**/node_modules',
      '**/dist',
      '**/build',
    ])
      expect([pattern, lines.includes(pattern)]).toEqual([pattern, true]);
    expect(lines.filter((line) => line.startsWith('!'))).toEqual([]);
  });
});

describe('lintDockerfile', () => {
  const lint = (text: string) => lintDockerfile(text, 'Dockerfile', REPO_ROOT);

  it('passes a good multi-stage file', () => {
    expect(
      lint(
        'ARG V=1.2\nFROM node:${V} AS build\nWORKDIR /src\nCOPY package.json docker/*.sh ./\nRUN make\nFROM node:${V}\nCOPY --from=build /src/a /a\nUSER node\nCMD ["node", "a"]\n',
      ),
    ).toEqual([]);
  });

  it("reports dockerfile-utils' findings and our policy's, naming the line", () => {
    const text = [
      'ARG BASE',
      'FROM node AS build', // 2: no tag
      'WORKDIR src', // 3: relative
      'COPY package.json no-such-dir/ ./', // 4: a source that is not in the context
      'FOO bar', // 5: not an instruction
      'FROM $BASE', // 6: an ARG without a default
      'COPY --from=other:latest /a /a', // 7: an unpinned image
      'EXPOSE 80/xyz', // 8: no such protocol
      'CMD ["node", "a.js"]', // 9: overridden by line 10
      'CMD ["node", "b.js"]',
      'HEALTHCHECK --interval=5 CMD ["true"]', // 11: a duration without a unit
      'USER root',
    ].join('\n');
    const problems = lint(text);
    expect(problems).toEqual(
      expect.arrayContaining([
        'Dockerfile:3: WORKDIR paths should be absolute',
        'Dockerfile:5: Unknown instruction: FOO',
        'Dockerfile:8: Invalid proto: xyz',
        'Dockerfile:9: There can only be one CMD instruction in a Dockerfile or build stage. Only the last one will have an effect.',
        'Dockerfile:11: time: missing unit in duration 5',
        'Dockerfile:2: pin image node to a version tag or digest',
        'Dockerfile:4: COPY no-such-dir/: not in the build context ' + REPO_ROOT,
        'Dockerfile:6: image $BASE uses an ARG without a default',
        'Dockerfile:7: pin image other:latest to a version tag or digest',
        'Dockerfile:6: the final stage must switch to a non-root USER',
      ]),
    );
    expect(problems).toHaveLength(10);
  });
});
