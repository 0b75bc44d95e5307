import * as fs from 'fs';
import * as path from 'path';

/**
 * Variables the runtime reads (Node.js, the CUDA driver under libtensorflow): a deployment may
 * set them without the apps mentioning them.
 */
export const RUNTIME_VARIABLES = new Set([
  'NODE_ENV',
  'NODE_PATH',
  'NODE_OPTIONS',
  'CUDA_CACHE_PATH',
  'CUDA_CACHE_MAXSIZE',
]);

/**
 * The names in `names` that no TypeScript source (specs and test-utils excluded) under `roots`
 * mentions as a whole word: a variable set for an app that reads no such variable is a typo or a
 * stale setting.
 */
export function unreadVariables(names: Iterable<string>, roots: readonly string[]): string[] {
  const text = roots
    .flatMap((root) => sourceFiles(root))
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
  return [...new Set(names)].filter(
    (name) => !RUNTIME_VARIABLES.has(name) && !new RegExp(`\\b${name}\\b`).test(text),
  );
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', 'dist', 'test-utils'].includes(entry.name) ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [full] : [];
  });
}

/** The source roots of an app: apps/<app>/src and every libs/<lib>/src of the repository. */
export function appSourceRoots(repoRoot: string, app: string): string[] {
  const libs = path.join(repoRoot, 'libs');
  return [
    path.join(repoRoot, 'apps', app, 'src'),
    ...fs.readdirSync(libs).map((lib) => path.join(libs, lib, 'src')),
  ];
}
