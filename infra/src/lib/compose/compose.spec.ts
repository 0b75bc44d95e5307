import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { appOfImage } from '../app-contract';
import { appSourceRoots, unreadVariables } from '../source-usage';
import { REPO_ROOT } from '../test-utils/k8s-tree';
import { JsonObject } from '../yaml-files';
import { activeServices, checkCompose, serviceEnv } from './check-compose';
import { ComposeProject, dockerComposeVersion, renderCompose } from './render-compose';

const COMPOSE_FILE = path.join(REPO_ROOT, 'docker', 'compose.yaml');
const SECRETS = { FORGE_API_TOKEN: 'a'.repeat(48), FORGE_CLUSTER_SECRET: 'b'.repeat(64) };
const MODES = [['gpu'], ['cpu']];

/** COMPOSE_PROFILES from docker/.env: the mode a plain `docker compose up` starts. */
function defaultProfiles(): string[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'docker', '.env'), 'utf8');
  return /^COMPOSE_PROFILES=(.*)$/m.exec(text)![1].split(',');
}

// Every check here runs on docker-compose config's render (the output of Debian's 1.29 is what
// the assertions on ports and volumes expect); without it they are skipped, loudly.
const COMPOSE = dockerComposeVersion();
if (!COMPOSE) {
  console.log(
    'SKIPPING the docker/compose.yaml checks: they render with docker-compose config, and docker-compose is not on PATH (apt-get install docker-compose)',
  );
}
const describeRendered = COMPOSE ? describe : describe.skip;

describeRendered('docker/compose.yaml (rendered by docker-compose config)', () => {
  let rendered: ComposeProject;
  let project: ComposeProject;
  beforeAll(() => {
    rendered = renderCompose(COMPOSE_FILE, SECRETS);
  });
  beforeEach(() => {
    project = structuredClone(rendered);
  });

  it('passes the cross-reference and contract checks in both modes', () => {
    expect(checkCompose(project, MODES)).toEqual([]);
  });

  it('starts Redis, the coordinator (with the dashboard) and one GPU worker by default; the cpu profile swaps the worker', () => {
    expect(defaultProfiles()).toEqual(['gpu']);
    expect(activeServices(project, defaultProfiles()).sort()).toEqual(['coordinator', 'redis', 'worker']);
    expect(activeServices(project, ['cpu']).sort()).toEqual(['coordinator', 'redis', 'worker-cpu']);
    expect(serviceEnv(project.services.get('worker')!).get('FORGE_BACKEND')).toBe('tensorflow');
    expect(serviceEnv(project.services.get('worker-cpu')!).get('FORGE_BACKEND')).toBe('native');
    expect(project.services.get('coordinator')!.ports).toEqual([{ published: 3000, target: 3000 }]);
  });

  it('keeps Redis data persistent (AOF) and never evicts', () => {
    const redis = project.services.get('redis')!;
    const command = (redis.command as string[]).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toEqual(['redis-data:/data:rw']);
  });

  it('sets only variables the apps read', () => {
    for (const [, service] of project.services) {
      const app = appOfImage(String(service.image));
      if (!app || service.entrypoint) continue;
      expect(unreadVariables(serviceEnv(service).keys(), appSourceRoots(REPO_ROOT, app.role))).toEqual([]);
    }
  });

  it('refuses to start without each secret, saying how to make it', () => {
    expect(() => renderCompose(COMPOSE_FILE, { FORGE_CLUSTER_SECRET: SECRETS.FORGE_CLUSTER_SECRET })).toThrow(
      /export FORGE_API_TOKEN first \(16\+ characters, openssl rand -hex 24\)/,
    );
    expect(() => renderCompose(COMPOSE_FILE, { FORGE_API_TOKEN: SECRETS.FORGE_API_TOKEN })).toThrow(
      /export FORGE_CLUSTER_SECRET first \(openssl rand -hex 32\)/,
    );
  });

  it("reports a misspelt field with compose's schema message", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-compose-'));
    try {
      const text = fs.readFileSync(COMPOSE_FILE, 'utf8').replace('    restart:', '    restrat:');
      fs.writeFileSync(path.join(dir, 'compose.yaml'), text);
      expect(() => renderCompose(path.join(dir, 'compose.yaml'), SECRETS)).toThrow(
        /Unsupported config option for services\.redis: 'restrat'/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('catches broken variants', () => {
    const worker = project.services.get('worker')!;
    delete worker.deploy;
    (worker.environment as JsonObject).FORGE_COORDINATOR_URL = 'coordinator:6000';
    (project.services.get('worker-cpu')!.volumes as string[])[0] = 'shards:/data';
    (project.services.get('coordinator')!.depends_on as JsonObject).cache = { condition: 'service_started' };
    (project.services.get('prepare')!.command as string[])[4] = '/tmp/shards';
    project.services.get('redis')!.image = 'redis:latest';
    const problems = checkCompose(project, MODES);
    expect(problems).toEqual(
      expect.arrayContaining([
        'service redis: pin the image to a tag or digest',
        'service worker-cpu: volume shards is not declared under volumes',
        'service coordinator: depends_on cache, which is not a service',
        "service worker: FORGE_COORDINATOR_URL does not name the coordinator's gRPC port",
        'mode [gpu]: service worker: the tensorflow backend needs a GPU reservation',
        'mode [cpu]: service worker-cpu must mount volume forge-data at /data like the coordinator',
        'mode [gpu]: service prepare writes /tmp/shards outside /data',
      ]),
    );
  });
});
