/**
 * The parameters an optimizer updates, as one flat Float32Array (the unit of gradients, AdamW,
 * all-reduce and resumable state) backed by tfjs variables: every parameter of a GPT (pretraining,
 * full finetuning) or a chosen subset plus new tensors (a classification head, LoRA adapters).
 * Everything not in the set stays frozen.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors/forge-error';
import type { GPTModel } from '../model/gpt-model';

/** One tensor an optimizer updates. */
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

/** Where one variable's values sit in the flat buffer. */
interface Segment {
  variable: tf.Variable;
  offset: number;
  size: number;
}

/** Flat values of a set of variables, and the way to make the variables see new values. */
export class ParameterSet {
  private constructor(
    /** The values, flat, in segment order. */
    readonly values: Float32Array,
    private readonly segments: readonly Segment[],
    /** Makes the variables hold {@link values} (a no-op where the buffer is their live storage). */
    private readonly writeBack: (values: Float32Array) => void,
  ) {}

  /**
   * Every parameter of `model`, in layout order: the model's live storage when the backend keeps
   * tensors in JavaScript memory (updates in place need no write-back), else a copy.
   */
  static ofModel(model: GPTModel): ParameterSet {
    const { buffer, live } = model.parameterBuffer();
    const segments = model.layout.specs.map((spec) => ({
      variable: model.variable(spec.name),
      offset: spec.offset,
      size: spec.size,
    }));
    return new ParameterSet(buffer, segments, live ? () => {} : (values) => model.writeParameters(values));
  }

  /** The given tensors, in order (a copy of their values, written back tensor by tensor). */
  static of(trainables: readonly TrainableTensor[]): ParameterSet {
    if (trainables.length === 0) throw new ConfigError('trainable parameters', 0, 'at least one tensor');
    const values = new Float32Array(countTrainable(trainables));
    const segments: Segment[] = [];
    let offset = 0;
    for (const t of trainables) {
      values.set(t.variable.dataSync() as Float32Array, offset);
      segments.push({ variable: t.variable, offset, size: t.variable.size });
      offset += t.variable.size;
    }
    const writeBack = (flat: Float32Array) =>
      trainables.forEach((t, i) =>
        t.write(flat.subarray(segments[i].offset, segments[i].offset + t.variable.size)),
      );
    return new ParameterSet(values, segments, writeBack);
  }

  /** Number of values. */
  get size(): number {
    return this.values.length;
  }

  /** The variables, in segment order (what gradients are taken with respect to). */
  variables(): tf.Variable[] {
    return this.segments.map((s) => s.variable);
  }

  /** The part of a flat buffer of this set's layout that belongs to variable `i`. */
  slice(flat: Float32Array, i: number): Float32Array {
    const { offset, size } = this.segments[i];
    return flat.subarray(offset, offset + size);
  }

  /** Makes the variables hold {@link values} after they were changed in place. */
  commit(): void {
    this.writeBack(this.values);
  }

  /** Replaces every value (a resumed state) and commits; throws a ConfigError on a length mismatch. */
  restore(values: Float32Array): void {
    if (values.length !== this.size)
      throw new ConfigError('restored values', values.length, `${this.size} values`);
    if (values !== this.values) this.values.set(values);
    this.commit();
  }
}
