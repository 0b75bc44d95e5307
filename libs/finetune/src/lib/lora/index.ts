export { LoraLayer, validateLoraSettings } from './lora-layer';
export type { LoraSettings } from './lora-layer';
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  allBlockLayers,
  LoraAdapters,
  readAdapterConfig,
} from './lora-adapters';
export type { AdapterConfig, LoraOptions } from './lora-adapters';
export { mergedParameters, mergeLoraFolder } from './lora-merge';
