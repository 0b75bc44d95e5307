import * as path from 'path';
import * as ts from 'typescript';
import { K8sObject, objectId } from './k8s-object';

/** Where the virtual source lives: next to node_modules, so `kubernetes-models` resolves. */
const VIRTUAL_FILE = path.resolve(__dirname, '..', '..', '..', '__known_fields__.ts');

/**
 * Checks every field of every object against the TypeScript types that kubernetes-models
 * generates from the Kubernetes OpenAPI document, the way kubeconform's strict mode does: each
 * object becomes an object literal typed with its kind's interface, so the compiler's excess
 * property check reports a field the API does not have (a typo such as `readinesProbe` that the
 * API server would silently drop) and its type check reports wrong types. Nothing is written to
 * disk. Returns one line per problem: `Kind/ns/name: ...`.
 */
export function checkKnownFields(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  let source = '';
  // Object i's literal starts on line owners[i].line (0-based) of the virtual source.
  const owners: { line: number; id: string }[] = [];
  objects.forEach((object, i) => {
    if (!/^[A-Za-z0-9.]+(\/[A-Za-z0-9]+)?$/.test(object.apiVersion) || !/^[A-Za-z]+$/.test(object.kind)) {
      problems.push(`${objectId(object)}: no types for ${object.apiVersion} ${object.kind}`);
      return;
    }
    source += `import type { I${object.kind} as T${i} } from 'kubernetes-models/${object.apiVersion}/${object.kind}';\n`;
    owners.push({ line: source.split('\n').length - 1, id: objectId(object) });
    source += `export const o${i}: T${i} = ${JSON.stringify(object, null, 1)};\n`;
  });
  for (const diagnostic of compile(source)) {
    const start =
      diagnostic.file && diagnostic.start !== undefined
        ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
        : -1;
    const owner = [...owners].reverse().find((o) => o.line <= start);
    problems.push(`${owner?.id ?? 'objects'}: ${describe(diagnostic)}`);
  }
  return problems;
}

function compile(source: string): readonly ts.Diagnostic[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, ...rest) =>
    path.resolve(file) === VIRTUAL_FILE
      ? ts.createSourceFile(file, source, language, true)
      : getSourceFile(file, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => path.resolve(file) === VIRTUAL_FILE || fileExists(file);
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === VIRTUAL_FILE);
}

/** The first line of a diagnostic; excess properties read as `unknown field NAME (in TYPE)`. */
function describe(diagnostic: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n')[0];
  const excess = /known properties, and '"?([^"']+)"?' does not exist in type '([^']+)'/.exec(text);
  return excess ? `unknown field '${excess[1]}' (not in ${excess[2]})` : text;
}
