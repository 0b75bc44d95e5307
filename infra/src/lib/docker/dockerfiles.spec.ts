import * as fs from 'fs';
import * as path from 'path';
import { COORDINATOR, WORKER } from '../app-contract';
import { appSourceRoots, unreadVariables } from '../source-usage';
import { REPO_ROOT } from '../test-utils/k8s-tree';
import { parseDockerfile, ParsedDockerfile, stageArgs } from './dockerfile';
import { dockerignoreMatcher } from './dockerignore';
import { lintDockerfile } from './lint-dockerfile';

const DOCKER_DIR = path.join(REPO_ROOT, 'docker');
const IMAGES = {
  'coordinator.Dockerfile': { app: COORDINATOR, dir: 'coordinator' },
  'worker-cpu.Dockerfile': { app: WORKER, dir: 'worker' },
  'worker-gpu.Dockerfile': { app: WORKER, dir: 'worker' },
} as const;

function load(name: string): ParsedDockerfile {
  return parseDockerfile(fs.readFileSync(path.join(DOCKER_DIR, name), 'utf8'), `docker/${name}`);
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

  it.each(Object.keys(IMAGES))('%s passes the lint rules', (name) => {
    expect(lintDockerfile(load(name))).toEqual([]);
  });

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
  const ignored = dockerignoreMatcher(fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));

  it('keeps host builds, dependencies and secrets out of the build context', () => {
    for (const p of [
      'node_modules/yaml/package.json',
      'apps/coordinator/dist/main.js',
      'libs/tfjs-backend-native/build/Release/forge_native.node',
      'apps/dashboard/node_modules/vite/package.json',
      '.git/HEAD',
      'infra/k8s/base/secrets.env',
      'docker/.env',
    ]) {
      expect([p, ignored(p)]).toEqual([p, true]);
    }
  });

  it('sends everything the images build from', () => {
    for (const p of [
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
      'docker/stage-outputs.sh',
      'apps/coordinator/src/main.ts',
      'apps/dashboard/index.html',
      'libs/tfjs-backend-native/binding.gyp',
      'libs/tfjs-backend-native/scripts/build-addon.js',
      'libs/proto/proto',
      ...[...workspaces.values()].map((dir) => `${dir}/package.json`),
    ]) {
      expect([p, ignored(p)]).toEqual([p, false]);
    }
  });

  it('follows Docker semantics: ** across directories, ! re-includes, parents exclude children', () => {
    const match = dockerignoreMatcher('**/dist\n*.md\n!README.md\nsecret/\n');
    expect(match('a/b/dist/x.js')).toBe(true);
    expect(match('dist')).toBe(true);
    expect(match('notes.md')).toBe(true);
    expect(match('README.md')).toBe(false);
    expect(match('docs/notes.md')).toBe(false);
    expect(match('secret/key')).toBe(true);
  });
});

describe('the Dockerfile lint rules', () => {
  const lint = (text: string) => lintDockerfile(parseDockerfile(text, 'Dockerfile'));

  it('pass a minimal good multi-stage file', () => {
    expect(
      lint(
        'ARG V=1.2\nFROM node:${V} AS build\nWORKDIR /src\nRUN make\nFROM node:${V}\nCOPY --from=build /src/a /a\nUSER node\nCMD ["node", "a"]\n',
      ),
    ).toEqual([]);
  });

  it('catch each kind of problem, naming the line and the rule', () => {
    const text = [
      'FROM node AS build', // 1: no tag
      'ADD https://example.com/x.tgz /x', // 2
      'WORKDIR src', // 3
      'RUN apt-get install curl && sudo make', // 4
      'RUN npm install left-pad', // 5
      'FROM build',
      'FROM ubuntu:latest', // 7
      'COPY --from=other:latest /a /a', // 8
      'CMD node a.js', // 9
    ].join('\n');
    expect(lint(text)).toEqual([
      'Dockerfile:1: [DL3007] pin image node to a version tag or digest',
      'Dockerfile:2: [DL3020] ADD of a URL: download in a RUN with a checksum',
      'Dockerfile:3: [DL3000] WORKDIR src must be absolute',
      'Dockerfile:4: [DL3004] do not use sudo',
      'Dockerfile:4: [DL3014] apt-get install needs -y',
      'Dockerfile:4: [DL3015] apt-get install --no-install-recommends',
      'Dockerfile:4: [DL3009] delete /var/lib/apt/lists in the same RUN',
      'Dockerfile:5: [DL3016] pin left-pad to an exact version (name@x.y.z)',
      'Dockerfile:6: [multi-stage] name every build stage (FROM ... AS name)',
      'Dockerfile:7: [DL3007] pin image ubuntu:latest to a version tag or digest',
      'Dockerfile:8: [DL3022] pin image other:latest to a version tag or digest',
      'Dockerfile:9: [DL3025] CMD in JSON form, so signals reach the process',
      'Dockerfile:7: [DL3002] the final stage must switch to a non-root USER',
    ]);
  });

  it('want a build stage, a CMD and a non-root user in the last stage', () => {
    expect(lint('FROM node:20.19.5\nUSER root\n')).toEqual([
      'Dockerfile:1: [multi-stage] build in one stage and copy only what runs into a final stage',
      'Dockerfile:1: [DL3002] the final stage must switch to a non-root USER',
      'Dockerfile:1: [final-cmd] the final stage needs a CMD or ENTRYPOINT',
    ]);
  });
});
