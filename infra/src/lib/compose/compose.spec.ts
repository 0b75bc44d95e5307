import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { appOfImage } from '../app-contract';
import { appSourceRoots, unreadVariables } from '../source-usage';
import { REPO_ROOT } from '../test-utils/k8s-tree';
import { hasCommand } from '../test-utils/kubectl';
import { JsonObject } from '../yaml-files';
import { interpolate } from './interpolate';
import {
  activeServices,
  checkCompose,
  ComposeProject,
  loadCompose,
  serviceEnv,
  validateComposeSchema,
} from './validate-compose';

const COMPOSE_FILE = path.join(REPO_ROOT, 'docker', 'compose.yaml');
const SECRETS = { FORGE_API_TOKEN: 'a'.repeat(48), FORGE_CLUSTER_SECRET: 'b'.repeat(64) };
const MODES = [['gpu'], ['cpu']];

/** COMPOSE_PROFILES from docker/.env: the mode a plain `docker compose up` starts. */
function defaultProfiles(): string[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'docker', '.env'), 'utf8');
  return /^COMPOSE_PROFILES=(.*)$/m.exec(text)![1].split(',');
}

describe('docker/compose.yaml', () => {
  let project: ComposeProject;
  beforeEach(() => {
    project = loadCompose(COMPOSE_FILE, SECRETS);
  });

  it('passes the compose-spec schema and the cross-reference and contract checks in both modes', () => {
    expect(checkCompose(project, MODES)).toEqual([]);
  });

  it('starts Redis, the coordinator (with the dashboard) and one GPU worker by default; the cpu profile swaps the worker', () => {
    expect(defaultProfiles()).toEqual(['gpu']);
    expect(activeServices(project, defaultProfiles())).toEqual(['redis', 'coordinator', 'worker']);
    expect(activeServices(project, ['cpu'])).toEqual(['redis', 'coordinator', 'worker-cpu']);
    expect(serviceEnv(project.services.get('worker')!).get('FORGE_BACKEND')).toBe('tensorflow');
    expect(serviceEnv(project.services.get('worker-cpu')!).get('FORGE_BACKEND')).toBe('native');
    expect(project.services.get('coordinator')!.ports).toEqual(['3000:3000']);
  });

  it('keeps Redis data persistent (AOF) and never evicts', () => {
    const redis = project.services.get('redis')!;
    const command = (redis.command as string[]).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toEqual(['redis-data:/data']);
  });

  it('sets only variables the apps read', () => {
    for (const [, service] of project.services) {
      const app = appOfImage(String(service.image));
      if (!app || service.entrypoint) continue;
      expect(unreadVariables(serviceEnv(service).keys(), appSourceRoots(REPO_ROOT, app.role))).toEqual([]);
    }
  });

  it('refuses to start without the secrets, naming them', () => {
    const problems = checkCompose(loadCompose(COMPOSE_FILE, {}), MODES).join('\n');
    expect(problems).toMatch(/FORGE_API_TOKEN is required: export FORGE_API_TOKEN first/);
    expect(problems).toMatch(/FORGE_CLUSTER_SECRET is required/);
  });

  it('catches broken variants', () => {
    const worker = project.services.get('worker')!;
    delete worker.deploy;
    (worker.environment as JsonObject).FORGE_COORDINATOR_URL = 'coordinator:6000';
    (project.services.get('worker-cpu')!.volumes as string[])[0] = 'shards:/data';
    (project.services.get('coordinator')!.depends_on as JsonObject).cache = { condition: 'service_started' };
    (project.services.get('prepare')!.command as string[])[4] = '/tmp/shards';
    const problems = checkCompose(project, MODES);
    expect(problems).toEqual(
      expect.arrayContaining([
        'service worker-cpu: volume shards is not declared under volumes',
        'service coordinator: depends_on cache, which is not a service',
        "service worker: FORGE_COORDINATOR_URL does not name the coordinator's gRPC port",
        'mode [gpu]: service worker: the tensorflow backend needs a GPU reservation',
        'mode [cpu]: service worker-cpu must mount volume forge-data at /data like the coordinator',
        'mode [gpu]: service prepare writes /tmp/shards outside /data',
      ]),
    );
  });

  it('reports schema violations by path', () => {
    const config = structuredClone(project.config);
    const redis = (config.services as JsonObject).redis as JsonObject;
    redis.enviroment = { A: '1' };
    redis.restart = 5;
    const problems = validateComposeSchema(config, 'compose.yaml');
    expect(problems).toContain(
      'compose.yaml: /services/redis must NOT have additional properties (enviroment)',
    );
    expect(problems).toContain('compose.yaml: /services/redis/restart must be string');
  });

  const composeV1 = hasCommand('docker-compose', ['version']);
  (composeV1 ? it : it.skip)('is accepted by docker-compose config (engine not needed)', () => {
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ...env },
      });
    const ok = run(SECRETS);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    const missing = run({});
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('FORGE_');
  });
  if (!composeV1) console.log('SKIPPING docker-compose config: docker-compose is not on PATH');
});

describe('compose interpolation', () => {
  const env = { SET: 'v', EMPTY: '' };
  const run = (text: string) => interpolate({ x: text }, env);

  it('follows the compose rules for defaults, errors, alternatives and $$', () => {
    expect(
      run('$SET ${SET} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:+alt} ${UNSET+alt} $$HOME').value,
    ).toEqual({
      x: 'v v d d  alt  $HOME',
    });
    expect(run('${EMPTY:?need it}').errors).toEqual(['x: EMPTY is required: need it']);
    expect(run('${EMPTY?need it}').errors).toEqual([]);
    expect(run('${UNSET?}').errors).toEqual(['x: UNSET is required: not set']);
  });
});
