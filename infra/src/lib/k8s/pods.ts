import { K8sObject, objectId } from './k8s-object';
import { isObject, Json, JsonObject } from '../yaml-files';

/** A pod template inside a workload (or a bare Pod), with where it came from. */
export interface PodTemplate {
  owner: K8sObject;
  /** `Kind/ns/name` of the owner, for messages. */
  id: string;
  namespace: string;
  labels: Record<string, string>;
  spec: JsonObject;
}

/** A container of a pod template, with its effective environment. */
export interface ContainerInfo {
  pod: PodTemplate;
  container: JsonObject;
  name: string;
  /** `Kind/ns/name container NAME`, for messages. */
  id: string;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** Every pod template of the objects (workloads' spec.template, CronJobs' job template, Pods). */
export function podTemplates(objects: readonly K8sObject[]): PodTemplate[] {
  const templates: PodTemplate[] = [];
  for (const object of objects) {
    const spec = isObject(object.spec) ? object.spec : undefined;
    let template: Json | undefined;
    if (object.kind === 'Pod') template = { metadata: object.metadata, spec: object.spec ?? {} };
    else if (TEMPLATE_KINDS.has(object.kind)) template = spec?.template;
    else if (object.kind === 'CronJob') {
      const jobSpec = isObject(spec?.jobTemplate) ? spec.jobTemplate.spec : undefined;
      template = isObject(jobSpec) ? jobSpec.template : undefined;
    }
    if (!isObject(template) || !isObject(template.spec)) continue;
    const metadata = isObject(template.metadata) ? template.metadata : {};
    templates.push({
      owner: object,
      id: objectId(object),
      namespace: object.metadata.namespace ?? 'default',
      labels: stringMap(metadata.labels),
      spec: template.spec,
    });
  }
  return templates;
}

/** The containers (init containers included) of the pod templates. */
export function containers(templates: readonly PodTemplate[]): ContainerInfo[] {
  return templates.flatMap((pod) =>
    ['initContainers', 'containers'].flatMap((field) => {
      const list = pod.spec[field];
      if (!Array.isArray(list)) return [];
      return list.filter(isObject).map((container) => {
        const name = String(container.name);
        return { pod, container, name, id: `${pod.id} container ${name}` };
      });
    }),
  );
}

/** A map of strings (labels, selectors); other values are dropped. */
export function stringMap(value: Json | undefined): Record<string, string> {
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

/** Whether every selector label is on the pod (an empty selector matches nothing here). */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** The objects of one kind in one namespace, by name. */
export function byName(
  objects: readonly K8sObject[],
  kind: string,
  namespace: string,
): Map<string, K8sObject> {
  return new Map(
    objects
      .filter((o) => o.kind === kind && (o.metadata.namespace ?? 'default') === namespace)
      .map((o) => [o.metadata.name, o]),
  );
}

/** The container ports as [name, number] pairs. */
export function containerPorts(container: JsonObject): { name?: string; port: number }[] {
  const ports = Array.isArray(container.ports) ? container.ports.filter(isObject) : [];
  return ports.map((p) => ({
    name: typeof p.name === 'string' ? p.name : undefined,
    port: Number(p.containerPort),
  }));
}

/** The env entries of a container (name and, when literal, value). */
export function envEntries(container: JsonObject): JsonObject[] {
  return Array.isArray(container.env) ? container.env.filter(isObject) : [];
}

/** Whether a container of the pod has the port (a name or a number). */
export function podExposes(pod: PodTemplate, target: Json | undefined): boolean {
  return containers([pod]).some(({ container }) =>
    containerPorts(container).some((p) =>
      typeof target === 'string' ? p.name === target : p.port === Number(target),
    ),
  );
}
