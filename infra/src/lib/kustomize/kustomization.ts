import * as fs from 'fs';
import * as path from 'path';
import { InfraFileError, isObject, Json, readYamlObject } from '../yaml-files';

/** One configMapGenerator / secretGenerator entry. */
export interface GeneratorArgs {
  name: string;
  /** `KEY=VALUE` pairs. */
  literals: string[];
  /** Files whose contents become values: `path` (key = file name) or `key=path`. */
  files: string[];
  /** Env files: one `KEY=VALUE` per line, `#` comments. */
  envs: string[];
  /** Secret type (default Opaque); unused for ConfigMaps. */
  type?: string;
}

/** One `images` entry: containers whose image name is `name` get the new name, tag or digest. */
export interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** A kustomization.yaml as this renderer understands it (see SUPPORTED_FIELDS). */
export interface Kustomization {
  /** The directory holding it; relative paths resolve from here. */
  dir: string;
  file: string;
  namespace?: string;
  resources: string[];
  configMapGenerator: GeneratorArgs[];
  secretGenerator: GeneratorArgs[];
  images: ImageOverride[];
  /** Strategic merge patch files; each patch names its target by kind and metadata.name. */
  patches: string[];
}

/** The kustomization fields the renderer implements; any other field is an error, not ignored. */
export const SUPPORTED_FIELDS = [
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'configMapGenerator',
  'secretGenerator',
  'images',
  'patches',
] as const;

const FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** The kustomization file of `dir`, or undefined when there is none. */
export function findKustomizationFile(dir: string): string | undefined {
  return FILE_NAMES.map((name) => path.join(dir, name)).find((file) => fs.existsSync(file));
}

/** Reads and checks the kustomization of `dir`; errors name the file and the field. */
export function loadKustomization(dir: string): Kustomization {
  const file = findKustomizationFile(dir);
  if (!file) throw new InfraFileError(dir, `no ${FILE_NAMES.join(' / ')} in this directory`);
  const raw = readYamlObject(file);
  for (const key of Object.keys(raw)) {
    if (!(SUPPORTED_FIELDS as readonly string[]).includes(key)) {
      throw new InfraFileError(
        file,
        `field '${key}' is not supported by this renderer (supported: ${SUPPORTED_FIELDS.join(', ')})`,
      );
    }
  }
  const fail = (detail: string): never => {
    throw new InfraFileError(file, detail);
  };
  if (raw.namespace !== undefined && typeof raw.namespace !== 'string') fail('namespace must be a string');
  return {
    dir,
    file,
    namespace: raw.namespace as string | undefined,
    resources: stringList(raw.resources, 'resources', fail),
    configMapGenerator: generators(raw.configMapGenerator, 'configMapGenerator', fail),
    secretGenerator: generators(raw.secretGenerator, 'secretGenerator', fail),
    images: images(raw.images, fail),
    patches: patches(raw.patches, fail),
  };
}

type Fail = (detail: string) => never;

function stringList(value: Json | undefined, field: string, fail: Fail): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    return fail(`${field} must be a list of strings`);
  }
  return value as string[];
}

function generators(value: Json | undefined, field: string, fail: Fail): GeneratorArgs[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail(`${field} must be a list`);
  return value.map((entry, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(entry) || typeof entry.name !== 'string') return fail(`${at} needs a name`);
    const known = ['name', 'literals', 'files', 'envs', 'type'];
    const unknown = Object.keys(entry).find((k) => !known.includes(k));
    if (unknown) return fail(`${at}.${unknown} is not supported (supported: ${known.join(', ')})`);
    if (entry.type !== undefined && typeof entry.type !== 'string')
      return fail(`${at}.type must be a string`);
    return {
      name: entry.name,
      literals: stringList(entry.literals, `${at}.literals`, fail),
      files: stringList(entry.files, `${at}.files`, fail),
      envs: stringList(entry.envs, `${at}.envs`, fail),
      type: entry.type as string | undefined,
    };
  });
}

function images(value: Json | undefined, fail: Fail): ImageOverride[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail('images must be a list');
  return value.map((entry, i) => {
    const known = ['name', 'newName', 'newTag', 'digest'];
    if (!isObject(entry) || typeof entry.name !== 'string') return fail(`images[${i}] needs a name`);
    for (const [key, v] of Object.entries(entry)) {
      if (!known.includes(key)) return fail(`images[${i}].${key} is not supported (${known.join(', ')})`);
      if (typeof v !== 'string') return fail(`images[${i}].${key} must be a string (quote tags like '1.0')`);
    }
    return entry as unknown as ImageOverride;
  });
}

function patches(value: Json | undefined, fail: Fail): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail('patches must be a list');
  return value.map((entry, i) => {
    if (!isObject(entry) || typeof entry.path !== 'string' || Object.keys(entry).length !== 1) {
      return fail(`patches[${i}] must be { path: FILE } (a strategic merge patch naming its target)`);
    }
    return entry.path;
  });
}
