/**
 * The references every command and the API take for texts, prepared datasets and models, resolved
 * one way everywhere (the CLI locally, the coordinator before it accepts a job).
 */
export { InputReferenceError } from './reference-error';
export { resolveTextReference, type TextSource } from './text-reference';
export { DATASET_MANIFEST_FILE, resolveDatasetReference } from './dataset-reference';
export {
  MODEL_REFERENCE_HINT,
  parseRunCheckpointRef,
  resolveModelReference,
  resolveRunCheckpoint,
} from './model-reference';
