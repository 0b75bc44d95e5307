import { isObject, Json } from '../yaml-files';
import { CLUSTER_SCOPED_KINDS, K8sObject } from './k8s-object';
import { ImageOverride } from './kustomization';

/** Sets metadata.namespace on every namespaced object (kustomize's `namespace:`). */
export function setNamespace(objects: K8sObject[], namespace: string): void {
  for (const object of objects) {
    if (!CLUSTER_SCOPED_KINDS.has(object.kind)) object.metadata.namespace = namespace;
  }
}

/** An image reference split into name, tag and digest (`registry:5000/a/b:tag@sha256:...`). */
export interface ImageRef {
  name: string;
  tag?: string;
  digest?: string;
}

/** Splits an image reference; a colon before the last slash belongs to the registry port. */
export function parseImage(image: string): ImageRef {
  const [withTag, digest] = image.split('@', 2) as [string, string | undefined];
  const colon = withTag.lastIndexOf(':');
  const hasTag = colon > withTag.lastIndexOf('/');
  return {
    name: hasTag ? withTag.slice(0, colon) : withTag,
    tag: hasTag ? withTag.slice(colon + 1) : undefined,
    digest,
  };
}

/** Rewrites container images whose name matches an override (kustomize's `images:`). */
export function overrideImages(objects: K8sObject[], overrides: readonly ImageOverride[]): void {
  for (const object of objects) {
    forEachContainer(object, (container) => {
      if (typeof container.image !== 'string') return;
      const ref = parseImage(container.image);
      const override = overrides.find((o) => o.name === ref.name);
      if (!override) return;
      const name = override.newName ?? ref.name;
      if (override.digest) container.image = `${name}@${override.digest}`;
      else if (override.newTag) container.image = `${name}:${override.newTag}`;
      else container.image = `${name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
    });
  }
}

/** Calls `visit` for every container and init container anywhere in `object`. */
export function forEachContainer(object: Json, visit: (container: { [key: string]: Json }) => void): void {
  walk(object, (key, value) => {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
      for (const container of value) if (isObject(container)) visit(container);
    }
  });
}

/** Depth-first walk over every (key, value) pair of every mapping inside `value`. */
export function walk(
  value: Json,
  visit: (key: string, value: Json, parent: { [key: string]: Json }) => void,
): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      visit(key, item, value);
      walk(item, visit);
    }
  }
}

/**
 * Points references to generated ConfigMaps and Secrets at their hashed names. `renames` maps
 * `ConfigMap/<name>` or `Secret/<name>` to the new name. The reference shapes covered:
 * configMapKeyRef, configMapRef, volume configMap (and projected sources), secretKeyRef,
 * secretRef, volume secret (secretName), projected secret, imagePullSecrets.
 */
export function renameReferences(objects: K8sObject[], renames: ReadonlyMap<string, string>): void {
  const rename = (kind: string, holder: { [key: string]: Json }, field: string) => {
    const current = holder[field];
    if (typeof current !== 'string') return;
    const renamed = renames.get(`${kind}/${current}`);
    if (renamed) holder[field] = renamed;
  };
  for (const object of objects) {
    walk(object, (key, value) => {
      if (key === 'imagePullSecrets' && Array.isArray(value)) {
        for (const item of value) if (isObject(item)) rename('Secret', item, 'name');
      }
      if (!isObject(value)) return;
      if (key === 'configMapKeyRef' || key === 'configMapRef' || key === 'configMap') {
        rename('ConfigMap', value, 'name');
      } else if (key === 'secretKeyRef' || key === 'secretRef') {
        rename('Secret', value, 'name');
      } else if (key === 'secret') {
        rename('Secret', value, 'secretName');
        rename('Secret', value, 'name');
      }
    });
  }
}

/** kustomize's legacy output order: these kinds first, in this order, then the rest by kind. */
const KIND_ORDER = [
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'CustomResourceDefinition',
  'ServiceAccount',
  'PodSecurityPolicy',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Endpoints',
  'Service',
  'LimitRange',
  'PriorityClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];

/** Sorts objects as `kubectl kustomize` prints them (kind order, then namespace and name). */
export function sortObjects(objects: K8sObject[]): K8sObject[] {
  const rank = (kind: string) => {
    const index = KIND_ORDER.indexOf(kind);
    return index >= 0 ? index : KIND_ORDER.length;
  };
  const key = (o: K8sObject) => `${o.kind}\u0000${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;
  return [...objects].sort(
    (a, b) => rank(a.kind) - rank(b.kind) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0),
  );
}
