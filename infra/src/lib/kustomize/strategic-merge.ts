import { clone, isObject, Json, JsonObject } from '../yaml-files';

/**
 * The subset of Kubernetes' strategic merge patch that the manifests use, with kustomize's
 * result order:
 * - maps merge key by key; a `null` value deletes the key;
 * - lists of the fields below merge by their key (a patch item `$patch: delete` removes the
 *   matching item); the result lists the patch's items first, in patch order, then the
 *   original items the patch did not name, in their order (what `kubectl kustomize` does);
 * - every other list, and every scalar, is replaced by the patch's value;
 * - `$patch: replace` on a map replaces it whole; `$patch: delete` on a map deletes it.
 */
export const MERGE_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  imagePullSecrets: ['name'],
  // Container ports merge by containerPort, Service ports by port.
  ports: ['containerPort', 'port'],
};

/** A patch the merge cannot apply; says where (a dotted path) and why. */
export class PatchError extends Error {
  constructor(path: string, detail: string) {
    super(`patch at ${path || '(root)'}: ${detail}`);
    this.name = 'PatchError';
  }
}

/** `original` with `patch` merged in (neither is modified). */
export function strategicMerge(original: JsonObject, patch: JsonObject): JsonObject {
  const merged = mergeObject(original, patch, '');
  return merged ?? {};
}

function mergeObject(original: JsonObject, patch: JsonObject, path: string): JsonObject | undefined {
  const directive = patch['$patch'];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return withoutDirective(patch);
  if (directive !== undefined) throw new PatchError(path, `unsupported $patch: ${JSON.stringify(directive)}`);
  const result = clone(original);
  for (const [key, value] of Object.entries(patch)) {
    const at = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    if (isObject(value) && isObject(current)) {
      const merged = mergeObject(current, value, at);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value) && Array.isArray(current) && MERGE_KEYS[key]) {
      result[key] = mergeList(current, value, MERGE_KEYS[key], at);
    } else {
      result[key] = stripDirectives(value);
    }
  }
  return result;
}

function mergeList(original: Json[], patch: Json[], keys: readonly string[], path: string): Json[] {
  const keyOf = (item: Json, where: string): [string, Json] => {
    if (isObject(item)) {
      for (const key of keys) if (item[key] !== undefined) return [key, item[key]];
    }
    throw new PatchError(where, `list item has none of the merge keys ${keys.join(', ')}`);
  };
  const same = (a: Json, key: string, value: Json) => isObject(a) && a[key] === value;
  const used = new Set<number>();
  const result: Json[] = [];
  patch.forEach((item, index) => {
    const where = `${path}[${index}]`;
    const [key, value] = keyOf(item, where);
    const match = original.findIndex((o, i) => !used.has(i) && same(o, key, value));
    if (match >= 0) used.add(match);
    if (isObject(item) && item['$patch'] === 'delete') return;
    const base = match >= 0 ? original[match] : undefined;
    const merged = isObject(base) && isObject(item) ? mergeObject(base, item, where) : stripDirectives(item);
    if (merged !== undefined) result.push(merged);
  });
  original.forEach((item, index) => {
    if (!used.has(index)) result.push(clone(item));
  });
  return result;
}

function withoutDirective(value: JsonObject): JsonObject {
  const copy = clone(value);
  delete copy['$patch'];
  return copy;
}

/** A patch value added as it is: without `$patch` directives and null-valued keys. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (key !== '$patch' && item !== null) out[key] = stripDirectives(item);
  }
  return out;
}
