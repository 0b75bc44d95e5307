import * as fs from 'fs';
import * as path from 'path';
import {
  appOfImage,
  COORDINATOR,
  FORGE_BACKENDS,
  isUnder,
  MIN_SECRET_LENGTH,
  REDIS_PREFIX_PATTERN,
  WORKER,
} from '../app-contract';
import { isPinned } from '../image-ref';
import { isObject, Json } from '../yaml-files';
import { ComposeProject, ComposeService } from './render-compose';

/**
 * The services `docker compose up` starts with these profiles active: those without profiles and
 * those in one of them (Debian's docker-compose 1.29 `config` prints every service).
 */
export function activeServices(project: ComposeProject, profiles: readonly string[]): string[] {
  return [...project.services]
    .filter(([, s]) => !Array.isArray(s.profiles) || s.profiles.some((p) => profiles.includes(String(p))))
    .map(([name]) => name);
}

/** A service's environment as a map (list `KEY=VALUE` or mapping form). */
export function serviceEnv(service: ComposeService): Map<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return new Map(
      env
        .map(String)
        .map((pair) => [pair.split('=')[0], pair.slice(pair.indexOf('=') + 1)] as [string, string]),
    );
  }
  return new Map(
    isObject(env)
      ? Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)] as [string, string])
      : [],
  );
}

/**
 * Cross-references of a compose project rendered by `docker-compose config` (which has checked
 * the schema and interpolated the variables), per set of active profiles the file is meant for:
 * - depends_on names services that run in the same mode; `service_healthy` needs a healthcheck;
 * - named volumes are declared; build Dockerfiles exist; images are pinned;
 * - the apps' contract: each gets the variables it reads, valid FORGE_BACKEND and prefix, the
 *   same cluster secret, prefix and Redis; REDIS_URL and FORGE_COORDINATOR_URL name the Redis and
 *   coordinator services and ports; workers advertise their service name; tensorflow workers
 *   reserve a GPU and others do not; workers and prepare mount the coordinator's runs volume
 *   at the same path.
 * Returns one line per problem.
 */
export function checkCompose(project: ComposeProject, modes: readonly (readonly string[])[]): string[] {
  const problems: string[] = [];
  const dir = path.dirname(project.file);
  const volumes = isObject(project.config.volumes) ? Object.keys(project.config.volumes) : [];
  for (const [name, service] of project.services)
    problems.push(...checkService(project, name, service, dir, volumes));
  for (const profiles of modes) problems.push(...checkMode(project, profiles));
  return problems;
}

function checkService(
  project: ComposeProject,
  name: string,
  service: ComposeService,
  dir: string,
  volumes: string[],
): string[] {
  const at = `service ${name}`;
  const problems: string[] = [];
  if (typeof service.image !== 'string' || !isPinned(service.image))
    problems.push(`${at}: pin the image to a tag or digest`);
  if (isObject(service.build)) {
    const context = path.resolve(dir, String(service.build.context ?? '.'));
    const dockerfile = path.resolve(context, String(service.build.dockerfile ?? 'Dockerfile'));
    if (!fs.existsSync(dockerfile)) problems.push(`${at}: build.dockerfile ${dockerfile} does not exist`);
  }
  for (const mount of Array.isArray(service.volumes) ? service.volumes : []) {
    const source =
      typeof mount === 'string' ? mount.split(':')[0] : isObject(mount) ? String(mount.source) : '';
    const named = !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~');
    if (named && !volumes.includes(source))
      problems.push(`${at}: volume ${source} is not declared under volumes`);
  }
  const deps = isObject(service.depends_on)
    ? Object.entries(service.depends_on)
    : Array.isArray(service.depends_on)
      ? service.depends_on.map((d) => [String(d), {}] as [string, Json])
      : [];
  for (const [dep, options] of deps) {
    const target = project.services.get(dep);
    if (!target) problems.push(`${at}: depends_on ${dep}, which is not a service`);
    else if (isObject(options) && options.condition === 'service_healthy' && !isObject(target.healthcheck)) {
      problems.push(`${at}: waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
    }
  }
  return problems;
}

function checkMode(project: ComposeProject, profiles: readonly string[]): string[] {
  const mode = `mode [${profiles.join(',')}]`;
  const active = activeServices(project, profiles);
  const apps = active.flatMap((name) => {
    const service = project.services.get(name)!;
    const app =
      typeof service.image === 'string' && service.entrypoint === undefined
        ? appOfImage(service.image)
        : undefined;
    return app ? [{ name, service, app, env: serviceEnv(service) }] : [];
  });
  const problems: string[] = [];
  for (const name of active) {
    const service = project.services.get(name)!;
    for (const dep of isObject(service.depends_on) ? Object.keys(service.depends_on) : []) {
      if (!active.includes(dep))
        problems.push(`${mode}: ${name} depends on ${dep}, which this mode does not start`);
    }
  }
  const coordinators = apps.filter((a) => a.app === COORDINATOR);
  if (coordinators.length !== 1) problems.push(`${mode}: ${coordinators.length} coordinators (want 1)`);
  if (!apps.some((a) => a.app === WORKER)) problems.push(`${mode}: no worker`);
  for (const variable of ['FORGE_CLUSTER_SECRET', 'FORGE_REDIS_PREFIX', 'REDIS_URL']) {
    if (new Set(apps.map((a) => a.env.get(variable))).size > 1)
      problems.push(`${mode}: the apps disagree on ${variable}`);
  }
  for (const a of apps) {
    const at = `${mode}: service ${a.name}`;
    for (const v of a.app.requiredEnv) if (!a.env.has(v)) problems.push(`${at}: ${a.app.role} needs ${v}`);
    const backend = a.env.get('FORGE_BACKEND');
    if (backend !== undefined && !(FORGE_BACKENDS as readonly string[]).includes(backend))
      problems.push(`${at}: FORGE_BACKEND=${backend} is invalid`);
    const prefix = a.env.get('FORGE_REDIS_PREFIX');
    if (prefix !== undefined && !REDIS_PREFIX_PATTERN.test(prefix))
      problems.push(`${at}: FORGE_REDIS_PREFIX must end with ':'`);
    for (const secret of ['FORGE_API_TOKEN', 'FORGE_CLUSTER_SECRET']) {
      const value = a.env.get(secret);
      if (value !== undefined && value.length < MIN_SECRET_LENGTH)
        problems.push(`${at}: ${secret} is shorter than ${MIN_SECRET_LENGTH} characters`);
    }
    problems.push(...checkAddresses(project, active, a.name, a.env, a.app === WORKER));
    if (a.app === WORKER) problems.push(...checkWorker(a.name, a.service, a.env, at));
  }
  const coordinator = coordinators[0];
  if (coordinator)
    problems.push(
      ...checkSharedVolume(project, active, coordinator.name, coordinator.env.get('FORGE_RUNS_DIR'), mode),
    );
  return problems;
}

/** Problems with REDIS_URL and (for workers) FORGE_COORDINATOR_URL: the service they name. */
function checkAddresses(
  project: ComposeProject,
  active: string[],
  name: string,
  env: Map<string, string>,
  worker: boolean,
): string[] {
  const problems: string[] = [];
  const redis = /^redis:\/\/(?:[^@/]*@)?([^:/]+):(\d+)/.exec(env.get('REDIS_URL') ?? '');
  const redisService = redis && project.services.get(redis[1]);
  if (
    !redis ||
    !redisService ||
    !active.includes(redis[1]) ||
    !String(redisService.image).startsWith('redis:') ||
    redis[2] !== '6379'
  ) {
    problems.push(`service ${name}: REDIS_URL does not name the redis service on 6379`);
  }
  if (worker) {
    const [host, port] = (env.get('FORGE_COORDINATOR_URL') ?? '').split(':');
    const target = project.services.get(host);
    const grpc = target
      ? (serviceEnv(target).get('FORGE_GRPC_PORT') ?? String(COORDINATOR.ports[1].default))
      : undefined;
    if (
      !target ||
      !active.includes(host) ||
      appOfImage(String(target.image)) !== COORDINATOR ||
      grpc !== port
    ) {
      problems.push(`service ${name}: FORGE_COORDINATOR_URL does not name the coordinator's gRPC port`);
    }
  }
  return problems;
}

function checkWorker(name: string, service: ComposeService, env: Map<string, string>, at: string): string[] {
  const problems: string[] = [];
  if (env.get('FORGE_ADVERTISE_HOST') !== name)
    problems.push(`${at}: FORGE_ADVERTISE_HOST must be the service name ${name} (its DNS name)`);
  const devices =
    isObject(service.deploy) &&
    isObject(service.deploy.resources) &&
    isObject(service.deploy.resources.reservations)
      ? service.deploy.resources.reservations.devices
      : undefined;
  const gpu =
    Array.isArray(devices) &&
    devices.some((d) => isObject(d) && Array.isArray(d.capabilities) && d.capabilities.includes('gpu'));
  const tensorflow = env.get('FORGE_BACKEND') === 'tensorflow';
  if (tensorflow && !gpu) problems.push(`${at}: the tensorflow backend needs a GPU reservation`);
  if (!tensorflow && gpu)
    problems.push(
      `${at}: reserves a GPU it does not use (FORGE_BACKEND=${String(env.get('FORGE_BACKEND'))})`,
    );
  return problems;
}

/** [volume, mount path] of the named volume under which `dir` lies in the service. */
function volumeOf(service: ComposeService, dir: string): [string, string] | undefined {
  for (const mount of Array.isArray(service.volumes) ? service.volumes : []) {
    const [source, target] =
      typeof mount === 'string'
        ? mount.split(':')
        : isObject(mount)
          ? [String(mount.source), String(mount.target)]
          : [];
    if (source && target && isUnder(dir, target)) return [source, target];
  }
  return undefined;
}

function checkSharedVolume(
  project: ComposeProject,
  active: string[],
  coordinator: string,
  runsDir: string | undefined,
  mode: string,
): string[] {
  const shared = runsDir ? volumeOf(project.services.get(coordinator)!, runsDir) : undefined;
  if (!shared) return [`${mode}: the coordinator's FORGE_RUNS_DIR is not on a named volume`];
  const problems: string[] = [];
  const all = [...project.services.keys()].filter((n) => active.includes(n) || n === 'prepare');
  for (const name of all) {
    const service = project.services.get(name)!;
    const image = String(service.image);
    const isWorker = appOfImage(image) === WORKER;
    if (!isWorker) continue;
    const mounted = volumeOf(service, shared[1]);
    if (!mounted || mounted[0] !== shared[0] || mounted[1] !== shared[1]) {
      problems.push(
        `${mode}: service ${name} must mount volume ${shared[0]} at ${shared[1]} like the coordinator`,
      );
    }
    const command = Array.isArray(service.command) ? service.command.map(String) : [];
    const out = command.includes('--out') ? command[command.indexOf('--out') + 1] : undefined;
    if (out !== undefined && !isUnder(out, shared[1]))
      problems.push(`${mode}: service ${name} writes ${out} outside ${shared[1]}`);
  }
  return problems;
}
