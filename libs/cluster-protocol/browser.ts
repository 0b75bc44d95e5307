/**
 * `@llm-forge/cluster-protocol/browser`: what a browser bundle (the dashboard) may take from this
 * package — the shared defaults (plain values: no zod, no fs) and the types of the run spec (type-only,
 * so zod never reaches the bundle). Everything here is also exported by the package's index
 * (src/index.ts), whose reference resolvers use Node's fs. This file sits beside package.json so that
 * Vite, tsc and Jest resolve the subpath through the workspace link without any path mapping.
 */
export { BUILTIN_TEXT, FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS } from './src/lib/run-defaults';
export type { RunSpec, RunSpecInput } from './src/lib/run-spec';
