/**
 * The dependency-free part of @llm-forge/cluster-protocol: the shared defaults, importable by a browser
 * bundle (the dashboard) as `@llm-forge/cluster-protocol/src/defaults`. Everything here is also
 * exported by the package's index.
 */
export { BUILTIN_TEXT, FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS } from './lib/run-defaults';
