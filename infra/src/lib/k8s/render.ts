import { runTool, toolVersion } from '../tools';
import { isObject, parseYamlDocuments } from '../yaml-files';
import { asK8sObject, K8sObject } from './k8s-object';

/** The kustomize major version our kustomizations are written for (`patches`, `images`). */
export const KUSTOMIZE_MAJOR = 5;

/**
 * The kustomize built into the kubectl on PATH (`v5.5.0`), or undefined without kubectl.
 * Debian's own kubectl (1.20) carries kustomize 2, which does not know our fields.
 */
export function kustomizeVersion(): string | undefined {
  const text = toolVersion('kubectl', ['version', '--client']);
  return text && /Kustomize Version:\s*(v\S+)/.exec(text)?.[1];
}

/**
 * Renders the kustomization in `dir` with `kubectl kustomize` and returns its objects, checked to
 * be Kubernetes objects. Throws a ToolError with kubectl's message when kubectl fails (a missing
 * base/secrets.env, an unknown field) or is not installed.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const text = runTool('kubectl', ['kustomize', dir]);
  const objects = parseYamlDocuments(text, `kubectl kustomize ${dir}`).map((doc, i) =>
    asK8sObject(doc, `kubectl kustomize ${dir}`, i),
  );
  for (const object of objects) unwrapSecretData(object);
  return objects;
}

/**
 * kubectl wraps long base64 Secret values over several lines; the API server's decoder skips the
 * line breaks, the schema's `byte` format does not. Joined here so the schema sees what the
 * server would store.
 */
function unwrapSecretData(object: K8sObject): void {
  if (object.kind !== 'Secret' || !isObject(object.data)) return;
  for (const [key, value] of Object.entries(object.data))
    if (typeof value === 'string') object.data[key] = value.replace(/\s+/g, '');
}
