export { buildKustomization } from './lib/kustomize/build';
export { strategicMerge, PatchError, MERGE_KEYS } from './lib/kustomize/strategic-merge';
export { loadKustomization, SUPPORTED_FIELDS } from './lib/kustomize/kustomization';
export type { Kustomization, GeneratorArgs, ImageOverride } from './lib/kustomize/kustomization';
export type { K8sObject } from './lib/kustomize/k8s-object';
export { objectId } from './lib/kustomize/k8s-object';
export { parseImage } from './lib/kustomize/transformers';
export { validateSchemas } from './lib/k8s/schema';
export { checkKnownFields } from './lib/k8s/known-fields';
export { checkCrossReferences } from './lib/k8s/cross-references';
export { checkAppContract } from './lib/k8s/app-checks';
export { APPS, COORDINATOR, WORKER, FORGE_BACKENDS, appOfImage } from './lib/app-contract';
export { InfraFileError, parseYamlDocuments, readYamlDocuments } from './lib/yaml-files';
export {
  loadCompose,
  checkCompose,
  activeServices,
  serviceEnv,
  validateComposeSchema,
} from './lib/compose/validate-compose';
export type { ComposeProject, ComposeService } from './lib/compose/validate-compose';
export { interpolate } from './lib/compose/interpolate';
export { parseDockerfile } from './lib/docker/dockerfile';
export type { ParsedDockerfile, DockerStage, DockerInstruction } from './lib/docker/dockerfile';
export { lintDockerfile } from './lib/docker/lint-dockerfile';
export { dockerignoreMatcher } from './lib/docker/dockerignore';
export { unreadVariables, appSourceRoots } from './lib/source-usage';
