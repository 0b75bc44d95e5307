/**
 * Evaluates single ES-module files of tfjs-core's dist/ (gradient configs, chained ops) against
 * the public CommonJS bundle, so a Node process with only @tensorflow/tfjs-core gets what the full
 * @tensorflow/tfjs package would have registered.
 *
 * The files are tfjs's own compiled code with one-line `import { a, b as c } from '../x'`,
 * `import * as m from '../x'` and `export const|function` statements. Each import is bound to the
 * bundle's public export of the same name (ops, kernel names, `util`, `backend_util`,
 * `broadcast_util`, `slice_util`); imports of sibling files are evaluated the same way. A name the
 * bundle does not export stays undefined, so only the code using it (e.g. convolution gradients
 * built on private backprop ops) fails, when called.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';

type ModuleObject = Record<string, unknown>;

const IMPORT_NAMED = /^import\s*\{([^}]*)\}\s*from\s*'([^']+)';?\s*$/gm;
const IMPORT_STAR = /^import\s*\*\s*as\s+(\w+)\s+from\s*'([^']+)';?\s*$/gm;
const IMPORT_BARE = /^import\s*'([^']+)';?\s*$/gm;
const EXPORT_DECL = /^export\s+(const|function)\s+(\w+)/gm;

/** The directory of tfjs-core's ES-module build. */
export function tfjsCoreDistDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');
}

/** The public object standing in for an internal tfjs-core module (path relative to dist/, no extension). */
function publicModule(relative: string): ModuleObject {
  const tensorModule = { getGlobalTensorClass: () => tf.Tensor, Tensor: tf.Tensor };
  const special: Record<string, unknown> = {
    util: tf.util,
    engine: { ENGINE: tf.engine() },
    tensor: tensorModule,
    'ops/broadcast_util': tf.broadcast_util,
    'ops/slice_util': tf.slice_util,
  };
  if (relative in special) return special[relative] as ModuleObject;
  // Ops, kernel names and backend utilities: the bundle's top level, then backend_util.
  return new Proxy({} as ModuleObject, {
    get: (_target, name: string) =>
      (tf as unknown as ModuleObject)[name] ?? (tf.backend_util as unknown as ModuleObject)[name],
  });
}

/** Loads ES-module files of tfjs-core's dist/ by path, caching each. */
export class EsmFileLoader {
  private readonly cache = new Map<string, ModuleObject>();

  constructor(private readonly distDir: string = tfjsCoreDistDir()) {}

  /** Evaluates `file` (absolute, with .js) and returns its exports. */
  load(file: string): ModuleObject {
    const cached = this.cache.get(file);
    if (cached) return cached;
    const exports: ModuleObject = {};
    this.cache.set(file, exports);
    const source = fs.readFileSync(file, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    const exported: string[] = [];
    const body = source
      .replace(IMPORT_NAMED, (_m, names: string, spec: string) => {
        const bindings = names
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
          .map((n) => n.replace(/\s+as\s+/, ': '));
        return `const { ${bindings.join(', ')} } = __import(${JSON.stringify(spec)});`;
      })
      .replace(
        IMPORT_STAR,
        (_m, name: string, spec: string) => `const ${name} = __import(${JSON.stringify(spec)});`,
      )
      .replace(IMPORT_BARE, (_m, spec: string) => `__import(${JSON.stringify(spec)});`)
      .replace(EXPORT_DECL, (_m, kind: string, name: string) => {
        exported.push(name);
        return `${kind} ${name}`;
      });
    const importer = (spec: string): ModuleObject => this.resolve(path.dirname(file), spec);
    const run = new Function('__import', `${body}\nreturn { ${exported.join(', ')} };`) as (
      imp: typeof importer,
    ) => ModuleObject;
    Object.assign(exports, run(importer));
    return exports;
  }

  private resolve(fromDir: string, spec: string): ModuleObject {
    if (!spec.startsWith('.')) return tf as unknown as ModuleObject;
    const target = path.resolve(fromDir, spec);
    const relative = path.relative(this.distDir, target).split(path.sep).join('/');
    if (relative.startsWith('gradients/') || relative.startsWith('public/chained_ops/'))
      return this.load(`${target}.js`);
    if (relative === 'index') return tf as unknown as ModuleObject;
    return publicModule(relative);
  }
}
