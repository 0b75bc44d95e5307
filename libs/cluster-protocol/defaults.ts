/**
 * `@llm-forge/cluster-protocol/defaults`: the dependency-free part of the package (no zod, no fs), the
 * shared defaults, for a browser bundle (the dashboard). Everything here is also exported by the
 * package's index (src/index.ts). It sits beside package.json so that bundlers, tsc and jest resolve
 * the subpath through the workspace link without any path mapping.
 */
export { BUILTIN_TEXT, FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS } from './src/lib/run-defaults';
