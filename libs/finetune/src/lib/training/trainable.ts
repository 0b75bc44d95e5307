/**
 * Trainable tensors: the parameters a finetuning run updates, each a tfjs variable with the way to
 * write new values back (in place into the GPT's flat buffer, or by assignment for a head or an
 * adapter). Everything not listed stays frozen.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPTModel } from '@llm-forge/gpt';

/** One tensor that a {@link SelectiveTrainer} updates. */
export interface TrainableTensor {
  /** Name in checkpoints, e.g. `h.1.mlp.c_fc.weight` or `score.weight`. */
  name: string;
  variable: tf.Variable;
  /** Writes new values (length = the variable's size). */
  write(values: Float32Array): void;
}

/** The named parameters of a GPT as trainable tensors (written back through `model.writeParameter`). */
export function modelTrainables(model: GPTModel, names: readonly string[]): TrainableTensor[] {
  return names.map((name) => ({
    name,
    variable: model.variable(name),
    write: (values) => model.writeParameter(name, values),
  }));
}

/** A variable owned by the caller (a new head, an adapter) as a trainable tensor. */
export function variableTrainable(name: string, variable: tf.Variable): TrainableTensor {
  return {
    name,
    variable,
    write: (values) => tf.tidy(() => variable.assign(tf.tensor(values, variable.shape))),
  };
}

/** Total number of elements of the trainable tensors. */
export function countTrainable(trainables: readonly TrainableTensor[]): number {
  return trainables.reduce((n, t) => n + t.variable.size, 0);
}
