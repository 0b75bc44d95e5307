import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { InfraFileError, JsonObject } from '../yaml-files';
import { K8sObject } from './k8s-object';
import { GeneratorArgs } from './kustomization';

/**
 * The ConfigMap or Secret a generator entry describes, named `<name>-<hash>`: the hash covers
 * kind, name, type and data (kustomize's documented recipe: sha256 of the sorted JSON, first 10
 * hex digits with 0,1,3,a,e mapped to g,h,k,m,t), so a changed value gives a new name and rolls
 * the pods that use it. kubectl's bundled kustomize derives a different suffix: compare
 * generated names without it.
 */
export function generate(
  kind: 'ConfigMap' | 'Secret',
  args: GeneratorArgs,
  dir: string,
  file: string,
): K8sObject {
  const values = collectValues(args, dir, file);
  const data: JsonObject = {};
  for (const [key, value] of values) {
    data[key] = kind === 'Secret' ? Buffer.from(value, 'utf8').toString('base64') : value;
  }
  const object: K8sObject = { apiVersion: 'v1', kind, metadata: { name: args.name }, data };
  if (kind === 'Secret') object.type = args.type ?? 'Opaque';
  object.metadata.name = `${args.name}-${nameHash(object)}`;
  return object;
}

/** The 10-character content suffix of a generated ConfigMap or Secret (see generate). */
export function nameHash(object: K8sObject): string {
  const encoded: JsonObject = {
    data: sortKeys(object.data as JsonObject),
    kind: object.kind,
    name: object.metadata.name,
  };
  if (object.kind === 'Secret') encoded.type = object.type ?? '';
  const hex = createHash('sha256').update(goJson(encoded)).digest('hex');
  const map: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => map[c] ?? c).join('');
}

function sortKeys(data: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON as Go's encoding/json writes it (HTML characters escaped), keys in insertion order. */
function goJson(value: JsonObject): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The key/value pairs of a generator, in the order literals, files, envs; duplicates are errors. */
function collectValues(args: GeneratorArgs, dir: string, file: string): Map<string, string> {
  const values = new Map<string, string>();
  const add = (key: string, value: string, source: string) => {
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
      throw new InfraFileError(
        source,
        `generator ${args.name}: '${key}' is not a valid ConfigMap/Secret key`,
      );
    }
    if (values.has(key))
      throw new InfraFileError(source, `generator ${args.name}: key ${key} is given twice`);
    values.set(key, value);
  };
  for (const literal of args.literals) {
    const [key, value] = splitPair(
      literal,
      file,
      `generator ${args.name}: literal '${literal}' is not KEY=VALUE`,
    );
    add(key, value, file);
  }
  for (const spec of args.files) {
    const eq = spec.indexOf('=');
    const key = eq >= 0 ? spec.slice(0, eq) : path.basename(spec);
    const source = path.resolve(dir, eq >= 0 ? spec.slice(eq + 1) : spec);
    add(key, readSource(source, args.name), file);
  }
  for (const env of args.envs) {
    const source = path.resolve(dir, env);
    readSource(source, args.name)
      .split(/\r?\n/)
      .forEach((line, index) => {
        const trimmed = line.trim();
        if (trimmed === '' || trimmed.startsWith('#')) return;
        const [key, value] = splitPair(trimmed, source, `line is not KEY=VALUE`, index + 1);
        add(key, value, source);
      });
  }
  return values;
}

function splitPair(text: string, file: string, message: string, line?: number): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InfraFileError(file, message, line);
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}

function readSource(file: string, generator: string): string {
  if (!fs.existsSync(file)) {
    throw new InfraFileError(file, `missing (needed by generator ${generator}); see docs/deployment.md`);
  }
  return fs.readFileSync(file, 'utf8');
}
