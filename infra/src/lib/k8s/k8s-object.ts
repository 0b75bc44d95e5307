import { InfraFileError, isObject, Json, JsonObject } from '../yaml-files';

/** A Kubernetes object as rendered: apiVersion, kind and metadata.name are always present. */
export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string };
}

/** Checks that `value` (document `index` of `file`) is a Kubernetes object and returns it typed. */
export function asK8sObject(value: Json, file: string, index: number): K8sObject {
  const where = `document ${index + 1}`;
  if (!isObject(value)) throw new InfraFileError(file, `${where} is not a mapping`);
  if (typeof value.apiVersion !== 'string') throw new InfraFileError(file, `${where} has no apiVersion`);
  if (typeof value.kind !== 'string') throw new InfraFileError(file, `${where} has no kind`);
  const metadata = value.metadata;
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new InfraFileError(file, `${where} (${value.kind}) has no metadata.name`);
  }
  return value as K8sObject;
}

/** `Kind/name` or `Kind/namespace/name`: how problems and maps name an object. */
export function objectId(object: K8sObject): string {
  const ns = object.metadata.namespace;
  return ns ? `${object.kind}/${ns}/${object.metadata.name}` : `${object.kind}/${object.metadata.name}`;
}
