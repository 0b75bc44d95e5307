import { K8sObject, objectId } from './k8s-object';
import { isPinned } from '../image-ref';
import { isObject, Json, JsonObject } from '../yaml-files';
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

/**
 * Checks that rendered objects fit together, the things a schema cannot see. Returns one line
 * per problem, each naming the object:
 * - workload selectors match their own pod template labels;
 * - every Service selects pods, and its target ports exist on them (by name or number);
 * - a StatefulSet's serviceName is a headless Service selecting its pods; a
 *   PodDisruptionBudget selects pods;
 * - ConfigMaps, Secrets (and their keys) and PersistentVolumeClaims used by pods exist in the
 *   pod's namespace; every volumeMount names a volume; probes use ports the container has;
 * - `$(VAR)` in env values, command and args names a variable defined before it (the kubelet
 *   leaves unknown references as literal text);
 * - images carry a tag (not latest) or digest; containers request CPU and memory and limit
 *   memory; long-running containers have readiness and liveness probes; pods run as non-root.
 */
export function checkCrossReferences(objects: readonly K8sObject[]): string[] {
  const pods = podTemplates(objects);
  const all = containers(pods);
  return [
    ...pods.flatMap((pod) => checkWorkloadSelector(pod)),
    ...objects.filter((o) => o.kind === 'Service').flatMap((s) => checkService(s, pods)),
    ...objects.filter((o) => o.kind === 'StatefulSet').flatMap((s) => checkStatefulSetService(s, objects)),
    ...objects.filter((o) => o.kind === 'PodDisruptionBudget').flatMap((p) => checkSelectsPods(p, pods)),
    ...pods.flatMap((pod) => checkPodReferences(pod, objects)),
    ...all.flatMap((c) => checkContainer(c, objects)),
  ];
}

function checkWorkloadSelector(pod: PodTemplate): string[] {
  const spec = pod.owner.spec;
  if (!isObject(spec) || !isObject(spec.selector)) return [];
  const selector = stringMap(spec.selector.matchLabels);
  return selects(selector, pod.labels)
    ? []
    : [`${pod.id}: spec.selector does not match the pod template labels`];
}

function checkService(service: K8sObject, pods: PodTemplate[]): string[] {
  const spec = isObject(service.spec) ? service.spec : {};
  const selector = stringMap(spec.selector);
  const ns = service.metadata.namespace ?? 'default';
  const id = objectId(service);
  const matched = pods.filter((p) => p.namespace === ns && selects(selector, p.labels));
  if (matched.length === 0) return [`${id}: selector ${JSON.stringify(selector)} selects no pod template`];
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isObject) : [];
  return ports.flatMap((port) => {
    const target = port.targetPort ?? port.port;
    return matched
      .filter((pod) => !podExposes(pod, target))
      .map(
        (pod) =>
          `${id}: port ${String(port.name ?? port.port)} targets ${String(target)}, which ${pod.id} does not expose`,
      );
  });
}

function checkStatefulSetService(set: K8sObject, objects: readonly K8sObject[]): string[] {
  const spec = isObject(set.spec) ? set.spec : {};
  const name = spec.serviceName;
  const id = objectId(set);
  if (typeof name !== 'string') return [`${id}: no spec.serviceName (pods get no stable DNS names)`];
  const service = byName(objects, 'Service', set.metadata.namespace ?? 'default').get(name);
  if (!service) return [`${id}: serviceName ${name} is not a Service`];
  const serviceSpec = isObject(service.spec) ? service.spec : {};
  const problems: string[] = [];
  if (serviceSpec.clusterIP !== 'None')
    problems.push(`${id}: Service ${name} must be headless (clusterIP: None)`);
  const template = isObject(spec.template) && isObject(spec.template.metadata) ? spec.template.metadata : {};
  if (!selects(stringMap(serviceSpec.selector), stringMap(template.labels))) {
    problems.push(`${id}: Service ${name} does not select its pods`);
  }
  return problems;
}

function checkSelectsPods(object: K8sObject, pods: PodTemplate[]): string[] {
  const spec = isObject(object.spec) ? object.spec : {};
  const selector = isObject(spec.selector) ? stringMap(spec.selector.matchLabels) : {};
  const ns = object.metadata.namespace ?? 'default';
  const any = pods.some((p) => p.namespace === ns && selects(selector, p.labels));
  return any ? [] : [`${objectId(object)}: selector selects no pod template`];
}

function checkPodReferences(pod: PodTemplate, objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const volumes = Array.isArray(pod.spec.volumes) ? pod.spec.volumes.filter(isObject) : [];
  const claimTemplates =
    pod.owner.kind === 'StatefulSet' && isObject(pod.owner.spec) ? pod.owner.spec.volumeClaimTemplates : [];
  const volumeNames = new Set([
    ...volumes.map((v) => String(v.name)),
    ...(Array.isArray(claimTemplates) ? claimTemplates : [])
      .filter(isObject)
      .map((t) => (isObject(t.metadata) ? String(t.metadata.name) : '')),
  ]);
  for (const volume of volumes) {
    const at = `${pod.id}: volume ${String(volume.name)}`;
    if (isObject(volume.configMap))
      problems.push(...missing(objects, pod, 'ConfigMap', volume.configMap.name, at));
    if (isObject(volume.secret))
      problems.push(...missing(objects, pod, 'Secret', volume.secret.secretName, at));
    if (isObject(volume.persistentVolumeClaim)) {
      problems.push(
        ...missing(objects, pod, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName, at),
      );
    }
  }
  for (const { container, id } of containers([pod])) {
    const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isObject) : [];
    for (const mount of mounts) {
      if (!volumeNames.has(String(mount.name)))
        problems.push(`${id}: volumeMount ${String(mount.name)} names no volume`);
    }
  }
  return problems;
}

/** A problem when the named object (or `key` in it) does not exist in the pod's namespace. */
function missing(
  objects: readonly K8sObject[],
  pod: PodTemplate,
  kind: string,
  name: Json | undefined,
  at: string,
  key?: Json,
): string[] {
  const object = typeof name === 'string' ? byName(objects, kind, pod.namespace).get(name) : undefined;
  if (!object) return [`${at}: ${kind} ${String(name)} does not exist in namespace ${pod.namespace}`];
  if (key === undefined) return [];
  const data = {
    ...(isObject(object.data) ? object.data : {}),
    ...(isObject(object.stringData) ? object.stringData : {}),
  };
  return typeof key === 'string' && key in data
    ? []
    : [`${at}: ${kind} ${String(name)} has no key ${String(key)}`];
}

function checkContainer(info: ContainerInfo, objects: readonly K8sObject[]): string[] {
  const { container, id, pod } = info;
  const problems: string[] = [];
  const defined = new Set<string>();
  for (const from of Array.isArray(container.envFrom) ? container.envFrom.filter(isObject) : []) {
    if (isObject(from.configMapRef))
      problems.push(...missing(objects, pod, 'ConfigMap', from.configMapRef.name, `${id} envFrom`));
    if (isObject(from.secretRef))
      problems.push(...missing(objects, pod, 'Secret', from.secretRef.name, `${id} envFrom`));
  }
  for (const entry of envEntries(container)) {
    const at = `${id} env ${String(entry.name)}`;
    const valueFrom = isObject(entry.valueFrom) ? entry.valueFrom : {};
    if (isObject(valueFrom.configMapKeyRef) && valueFrom.configMapKeyRef.optional !== true) {
      const ref = valueFrom.configMapKeyRef;
      problems.push(...missing(objects, pod, 'ConfigMap', ref.name, at, ref.key));
    }
    if (isObject(valueFrom.secretKeyRef) && valueFrom.secretKeyRef.optional !== true) {
      const ref = valueFrom.secretKeyRef;
      problems.push(...missing(objects, pod, 'Secret', ref.name, at, ref.key));
    }
    if (typeof entry.value === 'string') problems.push(...undefinedReferences(entry.value, defined, at));
    defined.add(String(entry.name));
  }
  for (const field of ['command', 'args']) {
    const list = container[field];
    if (Array.isArray(list))
      list.forEach((arg) => problems.push(...undefinedReferences(String(arg), defined, `${id} ${field}`)));
  }
  return [...problems, ...checkProbes(container, id), ...checkHygiene(info)];
}

/** `$(NAME)` references to variables not defined before (`$$(` escapes one). */
function undefinedReferences(text: string, defined: ReadonlySet<string>, at: string): string[] {
  const refs = [...text.replace(/\$\$/g, '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]);
  return refs
    .filter((name) => !defined.has(name))
    .map((name) => `${at}: $(${name}) is not defined before it`);
}

function checkProbes(container: JsonObject, id: string): string[] {
  const ports = containerPorts(container);
  const problems: string[] = [];
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const spec = container[probe];
    if (!isObject(spec)) continue;
    const action = [spec.httpGet, spec.tcpSocket, spec.grpc].find(isObject);
    const port = action?.port;
    if (port === undefined) continue;
    const ok =
      typeof port === 'string'
        ? ports.some((p) => p.name === port)
        : ports.some((p) => p.port === Number(port));
    if (!ok) problems.push(`${id}: ${probe} uses port ${String(port)}, which the container does not declare`);
  }
  return problems;
}

function checkHygiene({ container, id, pod }: ContainerInfo): string[] {
  const problems: string[] = [];
  if (typeof container.image !== 'string') problems.push(`${id}: no image`);
  else if (!isPinned(container.image))
    problems.push(`${id}: image ${container.image} needs a pinned tag or digest`);
  const resources = isObject(container.resources) ? container.resources : {};
  const requests = isObject(resources.requests) ? resources.requests : {};
  const limits = isObject(resources.limits) ? resources.limits : {};
  if (requests.cpu === undefined || requests.memory === undefined)
    problems.push(`${id}: requests no cpu and memory`);
  if (limits.memory === undefined) problems.push(`${id}: sets no memory limit`);
  const longRunning = ['Deployment', 'StatefulSet', 'DaemonSet'].includes(pod.owner.kind);
  if (longRunning && (!isObject(container.readinessProbe) || !isObject(container.livenessProbe))) {
    problems.push(`${id}: a long-running container needs readiness and liveness probes`);
  }
  const podSecurity = isObject(pod.spec.securityContext) ? pod.spec.securityContext : {};
  const security = isObject(container.securityContext) ? container.securityContext : {};
  if ((security.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true)
    problems.push(`${id}: does not set runAsNonRoot`);
  if (security.allowPrivilegeEscalation !== false) problems.push(`${id}: allows privilege escalation`);
  return problems;
}
