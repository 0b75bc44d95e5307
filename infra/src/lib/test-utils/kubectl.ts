import { spawnSync } from 'child_process';
import { isObject, Json, parseYamlDocuments } from '../yaml-files';

/** Whether a command answers `--version`-style probing (`args`) with exit code 0. */
export function hasCommand(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30000 });
  return result.status === 0;
}

/** `kubectl kustomize DIR` parsed into objects (throws with kubectl's message on failure). */
export function kubectlKustomize(dir: string): Json[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60000 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseYamlDocuments(result.stdout, `kubectl kustomize ${dir}`);
}

/**
 * Objects made comparable across renderers: generated names lose their 10-character hash suffix
 * everywhere (the two kustomize builds derive different suffixes; see generators.ts), and Secret
 * data loses the line breaks kubectl puts into long base64 values.
 */
export function normalizeRender(objects: readonly Json[]): Json[] {
  const generated = objects
    .filter(isObject)
    .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret')
    .map((o) => (isObject(o.metadata) ? String(o.metadata.name) : ''))
    .map((name) => /^(.*)-[a-z0-9]{10}$/.exec(name)?.[1])
    .filter((base): base is string => base !== undefined);
  let text = JSON.stringify(objects);
  for (const base of generated) {
    text = text.replace(new RegExp(`"${base}-[a-z0-9]{10}"`, 'g'), `"${base}-<hash>"`);
  }
  const normalized = JSON.parse(text) as Json[];
  for (const object of normalized) {
    if (isObject(object) && object.kind === 'Secret' && isObject(object.data)) {
      for (const [key, value] of Object.entries(object.data))
        object.data[key] = String(value).replace(/\s+/g, '');
    }
  }
  return normalized;
}
