/**
 * A GPT with its output head replaced by an n-class head (chapter 6 of the book): the hidden
 * state of the last token (or of the last real, non-pad token) goes through a linear layer
 * [n, C] with bias. Saved in the Hugging Face layout of `GPT2ForSequenceClassification` (no LM
 * head, `score.weight`) plus our `score.bias`, the labels and how inputs were shaped.
 * Legend: B batch, T time, C channels, n classes.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  END_OF_TEXT_ID,
  GPT2_VOCAB_SIZE,
  GPTModel,
  loadModel,
  parameterLayout,
  Rng,
  saveModel,
  type GPTConfig,
} from '@llm-forge/gpt';
import { LoraAdapters } from '../lora/lora-adapters';
import type { LoraLayer } from '../lora/lora-layer';
import type { ClassificationBatch } from './classification-dataset';

/** Which position's hidden state classifies: the last (the book's choice) or the last non-pad one. */
export type Pooling = 'last' | 'last-non-pad';

/** What a classifier records about its task. */
export interface ClassifierSpec {
  /** Class labels in index order. */
  labels: string[];
  pooling: Pooling;
  /** Inputs are truncated and padded to this many tokens. */
  maxLength: number;
  /** @defaultValue 50256 */
  padTokenId: number;
}

/** Folder of the adapters inside a LoRA classifier's folder. */
export const ADAPTER_SUBDIR = 'adapter';
const HEAD = 'score';

/** The config a backbone needs: no LM head (a tied config has none), so untied bases drop theirs. */
function backbone(config: GPTConfig, params: Float32Array): GPTModel {
  const headless = { ...config, tiedHead: true };
  return GPTModel.fromParameters(headless, params.slice(0, parameterLayout(headless).totalSize));
}

/** A GPT body with a classification head; optionally LoRA adapters on both. */
export class GPTClassifier {
  readonly weight: tf.Variable; // (n, C), torch.nn.Linear layout
  readonly bias: tf.Variable; // (n)
  private headAdapter?: LoraLayer;
  lora?: LoraAdapters;

  constructor(
    readonly model: GPTModel,
    readonly spec: ClassifierSpec,
    head: { weight: Float32Array; bias: Float32Array },
  ) {
    const n = spec.labels.length;
    const C = model.config.embDim;
    if (head.weight.length !== n * C || head.bias.length !== n) {
      throw new CheckpointError(
        HEAD,
        `head has ${head.weight.length}+${head.bias.length} values, expected ${n}x${C}+${n}`,
      );
    }
    this.weight = tf.variable(tf.tensor2d(head.weight, [n, C]), true);
    this.bias = tf.variable(tf.tensor1d(head.bias), true);
  }

  /**
   * A classifier on a base GPT (its parameters are taken over, an LM head dropped) with a new head
   * initialised as torch.nn.Linear: U(-1/sqrt(C), 1/sqrt(C)) for weight and bias.
   */
  static fromBase(
    config: GPTConfig,
    params: Float32Array,
    spec: ClassifierSpec,
    seed: number,
  ): GPTClassifier {
    if (config.vocabSize !== GPT2_VOCAB_SIZE) {
      throw new CheckpointError(
        'config.json',
        `vocab_size is ${config.vocabSize}, but classification uses the GPT-2 tokenizer (${GPT2_VOCAB_SIZE} tokens)`,
        'start from a GPT-2-vocabulary checkpoint or a --preset',
      );
    }
    const C = config.embDim;
    const rng = new Rng(seed);
    const bound = 1 / Math.sqrt(C);
    const uniform = (size: number) =>
      Float32Array.from({ length: size }, () => (2 * rng.nextFloat() - 1) * bound);
    const n = spec.labels.length;
    return new GPTClassifier(backbone(config, params), spec, { weight: uniform(n * C), bias: uniform(n) });
  }

  /** Number of classes. */
  get classes(): number {
    return this.spec.labels.length;
  }

  /** Adds LoRA adapters to every block linear layer and to the head (the book's appendix E). */
  attachLora(settings: { rank: number; alpha: number; seed?: number }): LoraAdapters {
    this.lora = LoraAdapters.attach(this.model, settings);
    this.headAdapter = this.lora.add(HEAD, this.model.config.embDim, this.classes);
    return this.lora;
  }

  /** Uses loaded adapters (block layers and, when present, the head). */
  useLora(adapters: LoraAdapters): void {
    adapters.attachTo(this.model);
    this.headAdapter = adapters.layers.get(HEAD);
    this.lora = adapters;
  }

  /** Class logits [B, n] of a padded batch. */
  logits(
    batch: ClassificationBatch,
    options: { training?: boolean; dropoutSeed?: number } = {},
  ): tf.Tensor2D {
    return tf.tidy(() => {
      const { batchSize: B, length: T } = batch;
      const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
      const hidden = tf.reshape(this.model.hiddenStates(ids, options), [B * T, -1]); // (B*T, C)
      const rows = Int32Array.from({ length: B }, (_, b) => b * T + this.position(batch, b));
      const pooled = tf.gather(hidden, tf.tensor1d(rows, 'int32')) as tf.Tensor2D; // (B, C)
      let logits = tf.add(tf.matMul(pooled, this.weight as tf.Tensor2D, false, true), this.bias); // (B, n)
      if (this.headAdapter) logits = tf.add(logits, this.headAdapter.delta(pooled));
      return logits as tf.Tensor2D;
    });
  }

  private position(batch: ClassificationBatch, row: number): number {
    return this.spec.pooling === 'last' ? batch.length - 1 : Math.max(0, batch.lengths[row] - 1);
  }

  /** Class probabilities, one Float32Array of n per row. */
  probabilities(batch: ClassificationBatch): Float32Array[] {
    const probs = tf.tidy(() => tf.softmax(this.logits(batch)));
    const values = probs.dataSync() as Float32Array;
    probs.dispose();
    return Array.from({ length: batch.batchSize }, (_, b) =>
      values.slice(b * this.classes, (b + 1) * this.classes),
    );
  }

  /**
   * Saves the classifier folder (config.json with labels and input shaping, model.safetensors with
   * the body and `score.*`); with LoRA, the adapters go to `<dir>/adapter` and the folder keeps the
   * frozen base, so `forge lora merge` can fold them in.
   */
  save(dir: string, options: { overwrite?: boolean } = {}): void {
    const { labels, pooling, maxLength, padTokenId } = this.spec;
    const extras = {
      config: {
        architectures: ['GPT2ForSequenceClassification'],
        num_labels: labels.length,
        id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
        label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
        pad_token_id: padTokenId,
        forge_classifier: { pooling, max_length: maxLength, head_bias: true, lora: Boolean(this.lora) },
      },
      tensors: [
        {
          name: `${HEAD}.weight`,
          dtype: 'F32' as const,
          shape: this.weight.shape,
          data: this.weight.dataSync(),
        },
        { name: `${HEAD}.bias`, dtype: 'F32' as const, shape: this.bias.shape, data: this.bias.dataSync() },
      ],
    };
    saveModel(dir, this.model.config, this.model.readParameters(), { ...options, extras });
    if (this.lora) this.lora.save(path.join(dir, ADAPTER_SUBDIR));
  }

  /** Loads a classifier folder written by {@link save}, with its adapters when it has them. */
  static load(dir: string): GPTClassifier {
    const loaded = loadModel(dir, { extraTensors: [`${HEAD}.weight`, `${HEAD}.bias`] });
    const spec = specFromConfig(loaded.rawConfig, path.join(dir, 'config.json'));
    const classifier = new GPTClassifier(GPTModel.fromParameters(loaded.config, loaded.params), spec, {
      weight: loaded.extras.get(`${HEAD}.weight`)!.data,
      bias: loaded.extras.get(`${HEAD}.bias`)!.data,
    });
    const forge = loaded.rawConfig['forge_classifier'] as { lora?: boolean };
    if (forge.lora) classifier.useLora(LoraAdapters.load(path.join(dir, ADAPTER_SUBDIR)));
    return classifier;
  }

  /** Frees the body, the head and any adapters. */
  dispose(): void {
    this.lora?.dispose();
    this.model.dispose();
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** Reads labels and input shaping from a classifier's config.json; CheckpointError naming the key. */
function specFromConfig(raw: Record<string, unknown>, file: string): ClassifierSpec {
  const id2label = raw['id2label'] as Record<string, unknown> | undefined;
  const forge = raw['forge_classifier'] as { pooling?: unknown; max_length?: unknown } | undefined;
  if (!id2label || typeof id2label !== 'object' || !forge) {
    throw new CheckpointError(
      file,
      'has no id2label or forge_classifier: it is not a classifier',
      'train one with forge finetune classify',
    );
  }
  const labels = Object.keys(id2label)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => String(id2label[k]));
  const pooling = forge.pooling === 'last-non-pad' ? 'last-non-pad' : 'last';
  if (!Number.isInteger(forge.max_length) || (forge.max_length as number) < 1) {
    throw new CheckpointError(
      file,
      `forge_classifier.max_length must be a positive integer, got ${JSON.stringify(forge.max_length)}`,
    );
  }
  const pad = raw['pad_token_id'];
  return {
    labels,
    pooling,
    maxLength: forge.max_length as number,
    padTokenId: typeof pad === 'number' ? pad : END_OF_TEXT_ID,
  };
}
