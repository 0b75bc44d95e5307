import { K8sObject, objectId } from './k8s-object';

/** An ajv error as kubernetes-models reports it. */
interface SchemaError {
  instancePath: string;
  message?: string;
}

interface ModelClass {
  new (data: K8sObject): { validate(): void };
}

/**
 * Validates each object against the Kubernetes OpenAPI schema of its apiVersion and kind (the
 * JSON schemas compiled into the kubernetes-models package): required fields, types, enums and
 * formats. Unknown kinds are problems too. Fields the schema does not know are not flagged
 * here (kubeconform's default mode); known-fields.ts does that. Returns one line per problem: `Kind/ns/name: /path must ...`.
 */
export function validateSchemas(objects: readonly K8sObject[]): string[] {
  return objects.flatMap((object) => {
    const Model = modelClass(object.apiVersion, object.kind);
    if (!Model) return [`${objectId(object)}: no schema for ${object.apiVersion} ${object.kind}`];
    try {
      new Model(object).validate();
      return [];
    } catch (error) {
      const errors = (error as { errors?: SchemaError[] }).errors;
      if (!errors) return [`${objectId(object)}: ${(error as Error).message}`];
      return errors.map((e) => `${objectId(object)}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    }
  });
}

function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
  if (!/^[A-Za-z0-9.]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return undefined;
  try {
    // The package has one module per group/version/kind; the path is built from checked names.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, ModelClass>;
    return module[kind];
  } catch {
    return undefined;
  }
}
