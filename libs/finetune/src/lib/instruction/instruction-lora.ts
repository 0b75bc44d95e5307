/**
 * LoRA for instruction finetuning (appendix E applied to ch. 7): adapters on every block linear
 * layer, only their A and B train (the base weights stay frozen), and the finetuned model is the
 * base with each layer's (alpha / r) · A @ B merged in.
 */
import {
  batchTensors,
  crossEntropy,
  deriveSeed,
  type Batch,
  type GPTModel,
  type LrSchedule,
  type StepResult,
} from '@llm-forge/gpt';
import { LoraAdapters, type LoraOptions } from '../lora';
import { SelectiveTrainer } from '../training';

/** An optimizer step over a batch list, as {@link finetuneInstructions} drives it. */
export interface InstructionStepper {
  step(batches: Batch[]): StepResult;
}

/** Optimizer settings of a LoRA stepper. */
export interface LoraStepperOptions {
  schedule: LrSchedule;
  weightDecay: number;
  gradClip: number;
  /** Seed of the dropout masks (derived per step and micro-batch, as the pretraining Trainer). */
  seed: number;
}

/** Attaches adapters to `model` and returns them with a stepper that trains them alone. */
export function loraStepper(
  model: GPTModel,
  lora: LoraOptions,
  options: LoraStepperOptions,
): { adapters: LoraAdapters; stepper: InstructionStepper } {
  const adapters = LoraAdapters.attach(model, lora);
  const trainer = new SelectiveTrainer(adapters.trainables(), {
    schedule: options.schedule,
    adamw: { weightDecay: options.weightDecay },
    gradClip: options.gradClip,
  });
  const stepper: InstructionStepper = {
    step(batches) {
      const step = trainer.stepsDone;
      const result = trainer.step((micro) => {
        const { inputs, targets } = batchTensors(batches[micro]);
        const dropoutSeed = deriveSeed(options.seed, step, micro);
        return crossEntropy(model.forward(inputs, { training: true, dropoutSeed }), targets);
      }, batches.length);
      const tokens = batches.reduce((n, b) => n + b.batchSize * b.contextLength, 0);
      return { step, loss: result.loss, lr: result.lr, gradNorm: result.gradNorm, tokens };
    },
  };
  return { adapters, stepper };
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
