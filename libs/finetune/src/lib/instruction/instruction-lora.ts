/**
 * LoRA for instruction finetuning (appendix E applied to ch. 7): training goes through the LoRA
 * part's `LoraLmTrainer` (adapters on every block linear layer, base frozen); the finetuned model
 * is the base with each layer's (alpha / r) · A @ B merged in.
 */
import type { Batch, GPTModel, StepResult } from '@llm-forge/gpt';
import type { LoraAdapters } from '../lora';

/** An optimizer step over a batch list, as {@link finetuneInstructions} drives it. */
export interface InstructionStepper {
  step(batches: Batch[]): StepResult;
}

/** LoRA settings of an instruction run. */
export interface InstructionLoraOptions {
  rank: number;
  /** @defaultValue rank (scale 1) */
  alpha?: number;
  /** Seed of the A matrices and the dropout masks. @defaultValue the run's seed */
  seed?: number;
}

/**
 * The model's parameters (flat, layout order) with every block adapter merged in:
 * W [in, out] += (alpha / r) · A @ B. The model and adapters are left as they are.
 */
export function mergedParameters(model: GPTModel, adapters: LoraAdapters): Float32Array {
  const params = model.readParameters();
  for (const [layer, adapter] of adapters.layers) {
    const spec = model.layout.specs.find((s) => s.name === `${layer}.weight`);
    if (!spec) continue; // not a GPT parameter (e.g. a classification head)
    const update = adapter.update();
    const weight = params.subarray(spec.offset, spec.offset + spec.size);
    for (let i = 0; i < weight.length; i++) weight[i] += update[i];
  }
  return params;
}
