import * as fs from 'fs';
import * as path from 'path';
import { InfraFileError, isObject, readYamlDocuments } from '../yaml-files';
import { generate } from './generators';
import { asK8sObject, K8sObject, objectId } from './k8s-object';
import { findKustomizationFile, Kustomization, loadKustomization } from './kustomization';
import { PatchError, strategicMerge } from './strategic-merge';
import { overrideImages, renameReferences, setNamespace, sortObjects } from './transformers';

/**
 * Renders the kustomization in `dir` the way `kustomize build` / `kubectl kustomize` does, for
 * the features in SUPPORTED_FIELDS: resources (files and directories with their own
 * kustomization), ConfigMap/Secret generators with hashed names and updated references,
 * strategic merge patches, namespace and images. Unsupported fields are errors, so a
 * kustomization this renderer cannot follow never renders silently wrong.
 */
export function buildKustomization(dir: string): K8sObject[] {
  return sortObjects(build(path.resolve(dir), []));
}

function build(dir: string, stack: string[]): K8sObject[] {
  if (stack.includes(dir))
    throw new InfraFileError(dir, `kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  const k = loadKustomization(dir);
  const objects = k.resources.flatMap((resource) => loadResource(k, resource, [...stack, dir]));
  const renames = new Map<string, string>();
  for (const [kind, list] of [
    ['ConfigMap', k.configMapGenerator],
    ['Secret', k.secretGenerator],
  ] as const) {
    for (const args of list) {
      const object = generate(kind, args, dir, k.file);
      renames.set(`${kind}/${args.name}`, object.metadata.name);
      objects.push(object);
    }
  }
  checkUnique(objects, k.file);
  for (const patch of k.patches) applyPatchFile(objects, path.resolve(dir, patch));
  if (k.namespace) setNamespace(objects, k.namespace);
  overrideImages(objects, k.images);
  renameReferences(objects, renames);
  return objects;
}

function loadResource(k: Kustomization, resource: string, stack: string[]): K8sObject[] {
  const target = path.resolve(k.dir, resource);
  if (!fs.existsSync(target)) throw new InfraFileError(k.file, `resource '${resource}' does not exist`);
  if (fs.statSync(target).isDirectory()) {
    if (!findKustomizationFile(target)) {
      throw new InfraFileError(k.file, `resource '${resource}' is a directory without a kustomization`);
    }
    return build(target, stack);
  }
  return readYamlDocuments(target).map((doc, i) => asK8sObject(doc, target, i));
}

function checkUnique(objects: K8sObject[], file: string): void {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = objectId(object);
    if (seen.has(id)) throw new InfraFileError(file, `${id} is defined twice`);
    seen.add(id);
  }
}

/** Applies every document of a strategic merge patch file to the object it names. */
function applyPatchFile(objects: K8sObject[], file: string): void {
  readYamlDocuments(file).forEach((doc, i) => {
    const patch = asK8sObject(doc, file, i);
    const index = objects.findIndex(
      (o) =>
        o.kind === patch.kind &&
        o.metadata.name === patch.metadata.name &&
        (patch.metadata.namespace === undefined || o.metadata.namespace === patch.metadata.namespace),
    );
    if (index < 0) {
      throw new InfraFileError(
        file,
        `patch targets ${patch.kind}/${patch.metadata.name}, which is not a resource`,
      );
    }
    try {
      const merged = strategicMerge(objects[index], patch);
      if (!isObject(merged.metadata)) throw new PatchError('metadata', 'the patch removed metadata');
      objects[index] = merged as K8sObject;
    } catch (error) {
      if (error instanceof PatchError) throw new InfraFileError(file, error.message);
      throw error;
    }
  });
}
