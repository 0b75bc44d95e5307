/**
 * Checkpoints in the Hugging Face GPT-2 layout: model folders (`config.json` + `model.safetensors`),
 * full training checkpoints (plus `optimizer.safetensors`, `trainer_state.json`), and the
 * hand-written safetensors reader/writer underneath.
 */
export { writeDirAtomic, writeTextFileAtomic } from './atomic-write';
export type { WriteDirOptions } from './atomic-write';
export {
  CHECKSUM_MISMATCH,
  CHECKSUMS_FILE,
  readChecksums,
  sha256File,
  verifyChecksums,
  verifyFileSha256,
  writeChecksums,
} from './checksums';
export { CONFIG_FILE, loadModel, loadModelConfig, saveModel } from './model-io';
export type { LoadedModel, LoadModelOptions, ModelExtras, SaveModelOptions } from './model-io';
export {
  loadCheckpoint,
  loadTrainerState,
  OPTIMIZER_FILE,
  saveCheckpoint,
  TRAINER_STATE_FILE,
  TRAINER_TENSORS_FILE,
} from './training-checkpoint';
export type { OptimizerState, SaveCheckpointOptions, TrainingCheckpoint } from './training-checkpoint';
export { MODEL_FILE, MODEL_INDEX_FILE } from './model-weights';
export type { ExtraTensor } from './model-weights';
export { gptConfigFromHf, gptConfigToHf, readHfConfig } from './hf-config';
export type { HfGpt2Config } from './hf-config';
export { SafetensorsFile, shapeSize, withSafetensorsFile } from './safetensors-reader';
export type { TensorInfo } from './safetensors-reader';
export { writeSafetensors } from './safetensors-writer';
export type { TensorToWrite } from './safetensors-writer';
export {
  bfloat16ToFloat32,
  DTYPE_SIZES,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
} from './safetensors-dtypes';
export type { SafetensorsDtype } from './safetensors-dtypes';
