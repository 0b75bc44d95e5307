/**
 * The names inside a run's checkpoint directory, defined once for the workers that write them and the
 * coordinator and CLI that read them:
 *
 *   <run>/step-000120/   the state after 120 optimizer steps (zero-padded, so names sort by step)
 *   <run>/latest         a one-line file naming the newest complete step checkpoint
 *
 * and the files that make a model directory (written by `@llm-forge/gpt`'s saveModel/saveCheckpoint;
 * named here too, so that the coordinator can check a directory without loading the tensor backend).
 */

/** File in a run's checkpoint directory naming its newest complete checkpoint; `<run>/latest` refers to it. */
export const LATEST_FILE = 'latest';

/** A model's config (Hugging Face GPT-2 keys); libs/gpt's CONFIG_FILE. */
export const MODEL_CONFIG_FILE = 'config.json';
/** A model's weights in one safetensors file; libs/gpt's MODEL_FILE. */
export const MODEL_WEIGHTS_FILE = 'model.safetensors';
/** The index of weights sharded over several safetensors files (Hugging Face downloads); libs/gpt's MODEL_INDEX_FILE. */
export const MODEL_WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** Files whose presence marks a complete step checkpoint (written last, atomically, by rank 0). */
export const CHECKPOINT_MARKERS = [MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE] as const;

/** Folder of a finetune's resumable states inside its output directory: `<outDir>/state/step-NNNNNN`. */
export const FINETUNE_STATE_DIR = 'state';
/** A finetune state's tensors: the trainable values and AdamW's moments. */
export const FINETUNE_STATE_TENSORS_FILE = 'trainer.safetensors';
/** A finetune state's step, history, spec hash and checksum. */
export const FINETUNE_STATE_JSON_FILE = 'state.json';
/** Files whose presence marks a complete finetune state (written atomically, as one folder, by rank 0). */
export const FINETUNE_STATE_MARKERS = [FINETUNE_STATE_TENSORS_FILE, FINETUNE_STATE_JSON_FILE] as const;

const STEP_NAME = /^step-(\d{6,})$/;

/** The directory name of the checkpoint after `step` optimizer steps. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** The step of a checkpoint directory name, or undefined when the name is not one. */
export function parseCheckpointName(name: string): number | undefined {
  const match = STEP_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}
