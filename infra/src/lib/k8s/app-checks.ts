import {
  appOfImage,
  AppContract,
  COORDINATOR,
  FORGE_BACKENDS,
  isUnder,
  MIN_SECRET_LENGTH,
  REDIS_PREFIX_PATTERN,
  WORKER,
} from '../app-contract';
import { K8sObject } from './k8s-object';
import { isObject, JsonObject } from '../yaml-files';
import {
  byName,
  ContainerInfo,
  containerPorts,
  containers,
  envEntries,
  podExposes,
  podTemplates,
  PodTemplate,
  selects,
  stringMap,
} from './pods';

/** A container running one of the apps, with its environment resolved. */
interface AppContainer extends ContainerInfo {
  app: AppContract;
  env: Map<string, string>;
}

/**
 * Checks the rendered objects against the apps' contract (app-contract.ts): a coordinator and
 * workers exist; each gets every variable it reads, with ports that match the container ports;
 * REDIS_URL and FORGE_COORDINATOR_URL name Services that reach Redis and the coordinator's gRPC
 * port; secrets are long enough and shared; workers have stable ids and advertise their stable
 * DNS name; runs and shards live on one ReadWriteMany claim mounted by everyone, where the
 * prepare Job writes. Returns one line per problem.
 */
export function checkAppContract(objects: readonly K8sObject[]): string[] {
  const pods = podTemplates(objects);
  const apps = containers(pods).flatMap((info) => {
    const app =
      typeof info.container.image === 'string' && !info.container.command
        ? appOfImage(info.container.image)
        : undefined;
    return app ? [{ ...info, app, env: resolveEnv(info, objects) }] : [];
  });
  const problems: string[] = [];
  for (const contract of [COORDINATOR, WORKER]) {
    if (!apps.some((a) => a.app === contract)) problems.push(`no container runs the ${contract.role}`);
  }
  for (const app of apps) problems.push(...checkEnvAndPorts(app), ...checkEndpoints(app, objects, pods));
  problems.push(
    ...checkShared(apps),
    ...checkWorkerIdentity(apps, objects),
    ...checkStorage(apps, objects, pods),
  );
  return problems;
}

/** The container's environment as the kubelet builds it; fieldRefs read `<fieldRef:PATH>`. */
export function resolveEnv(info: ContainerInfo, objects: readonly K8sObject[]): Map<string, string> {
  const env = new Map<string, string>();
  const ns = info.pod.namespace;
  const data = (kind: string, name: unknown): JsonObject => {
    const object = typeof name === 'string' ? byName(objects, kind, ns).get(name) : undefined;
    const values = object && isObject(object.data) ? object.data : {};
    if (kind !== 'Secret') return values;
    return Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]),
    );
  };
  for (const from of Array.isArray(info.container.envFrom) ? info.container.envFrom.filter(isObject) : []) {
    const values = isObject(from.configMapRef)
      ? data('ConfigMap', from.configMapRef.name)
      : isObject(from.secretRef)
        ? data('Secret', from.secretRef.name)
        : {};
    for (const [key, value] of Object.entries(values)) env.set(key, String(value));
  }
  for (const entry of envEntries(info.container)) {
    const name = String(entry.name);
    const from = isObject(entry.valueFrom) ? entry.valueFrom : {};
    if (typeof entry.value === 'string')
      env.set(
        name,
        entry.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, v: string) => env.get(v) ?? ref),
      );
    else if (isObject(from.secretKeyRef))
      env.set(name, data('Secret', from.secretKeyRef.name)[String(from.secretKeyRef.key)] as string);
    else if (isObject(from.configMapKeyRef))
      env.set(name, data('ConfigMap', from.configMapKeyRef.name)[String(from.configMapKeyRef.key)] as string);
    else if (isObject(from.fieldRef)) env.set(name, `<fieldRef:${String(from.fieldRef.fieldPath)}>`);
  }
  return env;
}

function checkEnvAndPorts({ app, env, container, id }: AppContainer): string[] {
  const problems = app.requiredEnv
    .filter((name) => env.get(name) === undefined)
    .map((name) => `${id}: ${app.role} needs ${name}`);
  const prefix = env.get('FORGE_REDIS_PREFIX');
  if (prefix !== undefined && !REDIS_PREFIX_PATTERN.test(prefix)) {
    problems.push(`${id}: FORGE_REDIS_PREFIX=${prefix} must end with ':' (letters, digits, _.:-)`);
  }
  const backend = env.get('FORGE_BACKEND');
  if (backend !== undefined && !(FORGE_BACKENDS as readonly string[]).includes(backend)) {
    problems.push(`${id}: FORGE_BACKEND=${backend} is not one of ${FORGE_BACKENDS.join(', ')}`);
  }
  for (const port of app.ports) {
    const expected = Number(port.env ? (env.get(port.env) ?? port.default) : port.default);
    if (!containerPorts(container).some((p) => p.name === port.name && p.port === expected)) {
      problems.push(
        `${id}: ${app.role} listens on ${expected} (${port.env ?? 'fixed'}) but declares no port ${port.name}=${expected}`,
      );
    }
  }
  if (app === COORDINATOR) {
    const probe =
      isObject(container.readinessProbe) && isObject(container.readinessProbe.httpGet)
        ? container.readinessProbe.httpGet
        : {};
    if (probe.path !== '/health') problems.push(`${id}: readinessProbe should GET /health`);
  }
  return problems;
}

/** Problems reaching `host:port` from `ns` through a Service onto pods that `accept`. */
function reach(
  objects: readonly K8sObject[],
  pods: PodTemplate[],
  ns: string,
  address: string,
  what: string,
  accept: (pod: PodTemplate, targetPort: unknown) => boolean,
): string[] {
  const match = /^(?:[a-z]+:\/\/)?(?:[^@/]*@)?([a-z0-9-]+)(?:\.([a-z0-9-]+))?[a-z0-9.-]*:(\d+)\/?$/.exec(
    address,
  );
  if (!match) return [`${what} ${address} is not host:port`];
  const [, host, hostNs, port] = match;
  // Never print credentials embedded in a URL.
  address = address.replace(/\/\/[^@/]*@/, '//***@');
  const service = byName(objects, 'Service', hostNs && hostNs !== 'svc' ? hostNs : ns).get(host);
  if (!service || !isObject(service.spec)) return [`${what} ${address}: no Service ${host}`];
  const servicePort = (Array.isArray(service.spec.ports) ? service.spec.ports.filter(isObject) : []).find(
    (p) => p.port === Number(port),
  );
  if (!servicePort) return [`${what} ${address}: Service ${host} has no port ${port}`];
  const selected = pods.filter(
    (p) =>
      p.namespace === ns &&
      selects(stringMap(service.spec && isObject(service.spec) ? service.spec.selector : {}), p.labels),
  );
  const target = servicePort.targetPort ?? servicePort.port;
  return selected.some((pod) => accept(pod, target))
    ? []
    : [`${what} ${address}: Service ${host} does not lead to the right pods`];
}

function checkEndpoints(app: AppContainer, objects: readonly K8sObject[], pods: PodTemplate[]): string[] {
  const ns = app.pod.namespace;
  const redisUrl = app.env.get('REDIS_URL');
  const problems: string[] = [];
  const isRedis = (pod: PodTemplate, target: unknown) =>
    podExposes(pod, target as string) &&
    containers([pod]).some((c) => String(c.container.image).startsWith('redis:'));
  if (redisUrl) problems.push(...reach(objects, pods, ns, redisUrl, `${app.id}: REDIS_URL`, isRedis));
  const coordinatorUrl = app.env.get('FORGE_COORDINATOR_URL');
  if (app.app === WORKER && coordinatorUrl) {
    const isCoordinatorGrpc = (pod: PodTemplate, target: unknown) =>
      containers([pod]).some(
        (c) =>
          appOfImage(String(c.container.image)) === COORDINATOR &&
          containerPorts(c.container).some(
            (p) => p.name === 'grpc' && (p.name === target || p.port === Number(target)),
          ),
      );
    problems.push(
      ...reach(objects, pods, ns, coordinatorUrl, `${app.id}: FORGE_COORDINATOR_URL`, isCoordinatorGrpc),
    );
  }
  return problems;
}

function checkShared(apps: AppContainer[]): string[] {
  const problems: string[] = [];
  for (const name of ['FORGE_CLUSTER_SECRET', 'FORGE_REDIS_PREFIX', 'REDIS_URL']) {
    const values = new Set(apps.map((a) => a.env.get(name)));
    if (values.size > 1)
      problems.push(`coordinator and workers disagree on ${name}: they would not see each other`);
  }
  for (const app of apps) {
    for (const name of ['FORGE_API_TOKEN', 'FORGE_CLUSTER_SECRET']) {
      const value = app.env.get(name);
      if (value !== undefined && value.length < MIN_SECRET_LENGTH)
        problems.push(`${app.id}: ${name} is shorter than ${MIN_SECRET_LENGTH} characters`);
    }
  }
  return problems;
}

function checkWorkerIdentity(apps: AppContainer[], objects: readonly K8sObject[]): string[] {
  return apps
    .filter((a) => a.app === WORKER)
    .flatMap(({ env, id, pod }) => {
      if (pod.owner.kind !== 'StatefulSet' || !isObject(pod.owner.spec))
        return [`${id}: workers need stable names: run them in a StatefulSet`];
      const problems: string[] = [];
      if (env.get('FORGE_WORKER_ID') !== '<fieldRef:metadata.name>')
        problems.push(`${id}: FORGE_WORKER_ID should be the pod name (fieldRef metadata.name)`);
      const service = String(pod.owner.spec.serviceName);
      const host = env.get('FORGE_ADVERTISE_HOST') ?? '';
      const stable = `<fieldRef:metadata.name>.${service}.<fieldRef:metadata.namespace>.svc`;
      if (host !== stable && host !== `${stable}.cluster.local`)
        problems.push(`${id}: FORGE_ADVERTISE_HOST ${host} is not the pod's stable DNS name ${stable}`);
      if (!byName(objects, 'Service', pod.namespace).get(service))
        problems.push(`${id}: headless Service ${service} is missing`);
      return problems;
    });
}

/** The claim and mount path under which `dir` lies in the container, if it is on a PVC. */
function claimOf(info: ContainerInfo, dir: string): { claim: string; mountPath: string } | undefined {
  const volumes = Array.isArray(info.pod.spec.volumes) ? info.pod.spec.volumes.filter(isObject) : [];
  const mounts = Array.isArray(info.container.volumeMounts)
    ? info.container.volumeMounts.filter(isObject)
    : [];
  const mount = mounts.find((m) => isUnder(dir, String(m.mountPath)));
  const volume = mount && volumes.find((v) => v.name === mount.name);
  if (!mount || !volume || !isObject(volume.persistentVolumeClaim)) return undefined;
  return { claim: String(volume.persistentVolumeClaim.claimName), mountPath: String(mount.mountPath) };
}

/**
 * Paths travel between processes: the coordinator names checkpoint directories under
 * FORGE_RUNS_DIR that rank 0 writes, and runs name the shard directory forge prepare wrote. So
 * every worker and the prepare Job must mount the coordinator's runs claim at the same path,
 * and that claim must be ReadWriteMany (pods on several nodes).
 */
function checkStorage(apps: AppContainer[], objects: readonly K8sObject[], pods: PodTemplate[]): string[] {
  const coordinator = apps.find((a) => a.app === COORDINATOR);
  const runsDir = coordinator?.env.get('FORGE_RUNS_DIR');
  if (!coordinator || !runsDir) return [];
  const shared = claimOf(coordinator, runsDir);
  if (!shared) return [`${coordinator.id}: FORGE_RUNS_DIR=${runsDir} is not on a PersistentVolumeClaim`];
  const problems: string[] = [];
  const pvc = byName(objects, 'PersistentVolumeClaim', coordinator.pod.namespace).get(shared.claim);
  const modes = pvc && isObject(pvc.spec) && Array.isArray(pvc.spec.accessModes) ? pvc.spec.accessModes : [];
  if (pvc && !modes.includes('ReadWriteMany')) {
    problems.push(
      `PersistentVolumeClaim ${shared.claim} must be ReadWriteMany: pods on several nodes mount it`,
    );
  }
  const sameMount = (info: ContainerInfo) => {
    const found = claimOf(info, shared.mountPath);
    return found?.claim === shared.claim && found.mountPath === shared.mountPath;
  };
  for (const worker of apps.filter((a) => a.app === WORKER && !sameMount(a))) {
    problems.push(
      `${worker.id}: must mount claim ${shared.claim} at ${shared.mountPath} like the coordinator`,
    );
  }
  for (const info of containers(pods)) {
    const args = [
      ...(Array.isArray(info.container.command) ? info.container.command : []),
      ...(Array.isArray(info.container.args) ? info.container.args : []),
    ].map(String);
    if (!args.some((a) => a.endsWith('forge.js')) || !args.includes('prepare')) continue;
    const out = args[args.indexOf('--out') + 1];
    if (!out || !isUnder(out, shared.mountPath) || !sameMount(info)) {
      problems.push(
        `${info.id}: forge prepare --out ${String(out)} is not on claim ${shared.claim} at ${shared.mountPath}`,
      );
    }
  }
  return problems;
}
