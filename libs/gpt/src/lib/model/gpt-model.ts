/**
 * The GPT-2 model on tfjs-core ops. Read bottom-up: linear → block → forward.
 * Legend: B batch, T time, C channels, V vocabulary, H heads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig, type GPTConfig } from './config';
import { parameterLayout, type ParameterLayout } from './parameter-layout';
import { initialParameters } from './initialize';
import { KVCache } from './kv-cache';
import { causalAttention, attendHeads, splitHeads } from '../ops/causal-attention';
import { dropout } from '../ops/dropout';
import { gelu } from '../ops/gelu';
import { layerNorm } from '../ops/layer-norm';
import { ConfigError } from '../errors/forge-error';
import { tapParameter, tapTokenLookup, type GradientTaps } from '../ops/gradient-taps';

/** Options of one forward pass. */
export interface ForwardOptions {
  /** Enables dropout. @defaultValue false */
  training?: boolean;
  /** Seed of this pass's dropout masks (each dropout site derives its own from it). */
  dropoutSeed?: number;
  /** Attend over and append to these cached keys/values (generation). */
  cache?: KVCache;
  /** Compute logits for the last position only ([B, 1, V]): all generation needs. */
  lastPositionOnly?: boolean;
  /**
   * Send every parameter's gradient to these taps during backward (see gradient-taps.ts); the
   * parameters are then not on the gradient tape themselves.
   */
  taps?: GradientTaps;
}

/**
 * An addition to a linear layer's output, e.g. a LoRA adapter: the layer computes
 * `x @ W + b + adapter.delta(x)`. Called inside the model's `tidy`.
 */
export interface LinearAdapter {
  /** The adapter's term [N, out] for the layer input x [N, in]. */
  delta(x: tf.Tensor2D): tf.Tensor2D;
}

/** The linear layers of block `i` that accept a {@link LinearAdapter}, by parameter prefix. */
export function blockLinearLayers(i: number): string[] {
  return [`h.${i}.attn.c_attn`, `h.${i}.attn.c_proj`, `h.${i}.mlp.c_fc`, `h.${i}.mlp.c_proj`];
}

/** A GPT-2 model whose parameters are tfjs variables named as in Hugging Face checkpoints. */
export class GPTModel {
  readonly layout: ParameterLayout;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly adapters = new Map<string, LinearAdapter>();

  private constructor(
    readonly config: GPTConfig,
    private readonly flat: Float32Array,
  ) {
    validateConfig(config);
    this.layout = parameterLayout(config);
    if (flat.length !== this.layout.totalSize) {
      throw new ConfigError('params.length', flat.length, `${this.layout.totalSize} for this config`);
    }
    for (const spec of this.layout.specs) {
      const initial = tf.tensor(flat.subarray(spec.offset, spec.offset + spec.size), spec.shape);
      this.vars.set(spec.name, tf.variable(initial, true)); // shares initial's data
      initial.dispose();
    }
    // Backends that keep tensors in JavaScript memory (cpu, native) store the views as they are:
    // the variables then read `flat` directly and an optimizer can update it in place.
    const first = this.variable(this.layout.specs[0].name).dataSync();
    this.live = first.buffer === flat.buffer && first.byteOffset === flat.byteOffset;
  }

  /** Whether the variables read the flat parameter buffer directly (no copy on update). */
  private readonly live: boolean;

  /** A freshly initialised model (GPT-2 initialisation, deterministic in `seed`). */
  static random(config: GPTConfig, seed = 0): GPTModel {
    return new GPTModel(config, initialParameters(validateConfig(config), seed));
  }

  /**
   * A model with the given flat parameters (in `parameterLayout(config)` order). The model takes
   * ownership of `params`: on JavaScript-memory backends its variables are views of it.
   */
  static fromParameters(config: GPTConfig, params: Float32Array): GPTModel {
    return new GPTModel(config, params);
  }

  /** Number of parameters. */
  get parameterCount(): number {
    return this.layout.totalSize;
  }

  /** The variable holding parameter `name` (Hugging Face name). */
  variable(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new ConfigError('parameter', name, `one of this model's parameters`);
    return v;
  }

  /** Parameter `name` as this pass reads it: the variable, or its tap when the pass has taps. */
  private param(name: string, options: ForwardOptions): tf.Tensor {
    const variable = this.variable(name);
    return options.taps ? tapParameter(variable, name, options.taps) : variable;
  }

  /** Every parameter variable, in layout order. */
  variables(): tf.Variable[] {
    return this.layout.specs.map((s) => this.variable(s.name));
  }

  /** Copies every parameter into one flat buffer (layout order). */
  readParameters(): Float32Array {
    if (this.live) return this.flat.slice();
    const flat = new Float32Array(this.layout.totalSize);
    for (const spec of this.layout.specs) flat.set(this.variable(spec.name).dataSync(), spec.offset);
    return flat;
  }

  /**
   * The parameters as one flat buffer for an optimizer: the live storage when the backend keeps
   * tensors in JavaScript memory (`live: true`, updates in place need no write-back), otherwise a
   * copy to hand back through {@link writeParameters}.
   */
  parameterBuffer(): { buffer: Float32Array; live: boolean } {
    return this.live ? { buffer: this.flat, live: true } : { buffer: this.readParameters(), live: false };
  }

  /** Overwrites every parameter from one flat buffer (layout order). */
  writeParameters(flat: Float32Array): void {
    if (flat.length !== this.layout.totalSize) {
      throw new ConfigError('params.length', flat.length, `${this.layout.totalSize} for this config`);
    }
    if (this.live) {
      if (flat !== this.flat) this.flat.set(flat);
      return;
    }
    for (const spec of this.layout.specs) {
      const values = flat.slice(spec.offset, spec.offset + spec.size);
      tf.tidy(() => this.variable(spec.name).assign(tf.tensor(values, spec.shape)));
    }
  }

  /**
   * Overwrites one parameter (in place on backends that keep tensors in JavaScript memory), so a
   * trainer that updates only some parameters keeps the flat buffer and the variables in sync.
   */
  writeParameter(name: string, values: Float32Array): void {
    const spec = this.layout.specs.find((s) => s.name === name);
    if (!spec) throw new ConfigError('parameter', name, `one of this model's parameters`);
    if (values.length !== spec.size) throw new ConfigError(`${name}.length`, values.length, `${spec.size}`);
    if (this.live) this.flat.set(values, spec.offset);
    else tf.tidy(() => this.variable(name).assign(tf.tensor(values, spec.shape)));
  }

  /**
   * Attaches an adapter to the linear layer `prefix` (one of {@link blockLinearLayers}), or
   * detaches it with `undefined`. The base weights are untouched.
   */
  setAdapter(prefix: string, adapter: LinearAdapter | undefined): void {
    const match = /^h\.(\d+)\./.exec(prefix);
    if (
      !match ||
      Number(match[1]) >= this.config.nLayers ||
      !blockLinearLayers(Number(match[1])).includes(prefix)
    ) {
      throw new ConfigError('adapter layer', prefix, 'a block linear layer such as h.0.attn.c_attn');
    }
    if (adapter) this.adapters.set(prefix, adapter);
    else this.adapters.delete(prefix);
  }

  /** Frees the model's variables. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }

  /** Logits [B, T, V] (or [B, 1, V] with `lastPositionOnly`) for int32 token ids [B, T]. */
  forward(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const [B, T] = ids.shape;
    const logits = tf.tidy(() => {
      let x: tf.Tensor = this.trunk(ids, options); // (B, T, C)
      if (options.lastPositionOnly && T > 1) x = tf.slice(x, [0, T - 1, 0], [B, 1, -1]);
      x = this.layerNorm(x, 'ln_f', options);
      const rows = x.shape[1] as number;
      const head = this.param(this.config.tiedHead ? 'wte.weight' : 'lm_head.weight', options); // (V, C)
      const flat = tf.matMul(tf.reshape(x, [B * rows, -1]), head, false, true); // (B*rows, V)
      return tf.reshape(flat, [B, rows, this.config.vocabSize]) as tf.Tensor3D;
    });
    if (options.cache) options.cache.length += T;
    return logits;
  }

  /**
   * The final hidden states [B, T, C] (after `ln_f`, before the output head) for int32 token ids
   * [B, T]: what a classification head reads.
   */
  hiddenStates(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const hidden = tf.tidy(() => this.layerNorm(this.trunk(ids, options), 'ln_f', options) as tf.Tensor3D);
    if (options.cache) options.cache.length += ids.shape[1];
    return hidden;
  }

  /** Embeddings and every block: the residual stream [B, T, C] before `ln_f`. Call inside tidy. */
  private trunk(ids: tf.Tensor2D, options: ForwardOptions): tf.Tensor3D {
    const { contextLength, nLayers } = this.config;
    const T = ids.shape[1];
    const offset = options.cache?.length ?? 0;
    if (offset + T > contextLength) {
      throw new ConfigError('sequence length', offset + T, `at most the context length ${contextLength}`);
    }
    let dropoutSite = 0;
    const drop = (x: tf.Tensor): tf.Tensor => {
      const rate = options.training ? this.config.dropRate : 0;
      return rate > 0 ? dropout(x, rate, (options.dropoutSeed ?? 0) * 1000 + dropoutSite++) : x;
    };
    const positions = tf.range(offset, offset + T, 1, 'int32');
    const wte = this.variable('wte.weight') as tf.Tensor2D;
    const tokens = options.taps ? tapTokenLookup(wte, ids, options.taps) : tf.gather(wte, ids); // (B, T, C)
    let x = drop(tf.add(tokens, tf.gather(this.param('wpe.weight', options), positions))) as tf.Tensor3D;
    for (let i = 0; i < nLayers; i++) x = this.block(x, i, drop, options);
    return x;
  }

  /** One pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
  private block(
    x: tf.Tensor3D,
    i: number,
    dropout: (t: tf.Tensor) => tf.Tensor,
    options: ForwardOptions,
  ): tf.Tensor3D {
    const [B, T, C] = x.shape;
    const p = `h.${i}`;
    const norm1 = this.layerNorm(x, `${p}.ln_1`, options);
    const qkv = this.linear(tf.reshape(norm1, [B * T, C]), `${p}.attn.c_attn`, options); // (B*T, 3C)
    const attended = this.attention(tf.reshape(qkv, [B, T, 3 * C]), i, options); // (B, T, C)
    const attnOut = dropout(this.linear(tf.reshape(attended, [B * T, C]), `${p}.attn.c_proj`, options));
    const x1 = tf.add(x, tf.reshape(attnOut, [B, T, C]));
    const norm2 = this.layerNorm(x1, `${p}.ln_2`, options);
    const hidden = gelu(this.linear(tf.reshape(norm2, [B * T, C]), `${p}.mlp.c_fc`, options)); // (B*T, 4C)
    const mlpOut = dropout(this.linear(hidden as tf.Tensor2D, `${p}.mlp.c_proj`, options));
    return tf.add(x1, tf.reshape(mlpOut, [B, T, C]));
  }

  private attention(qkv: tf.Tensor3D, layer: number, options: ForwardOptions): tf.Tensor3D {
    const { nHeads, dropRate } = this.config;
    const cache = options.cache;
    if (!cache) {
      const attnDrop = options.training ? dropRate : 0;
      return causalAttention(qkv, nHeads, {
        dropRate: attnDrop,
        seed: (options.dropoutSeed ?? 0) * 1000 + 500 + layer,
      });
    }
    const { q, k, v } = splitHeads(qkv, nHeads); // (B, H, T, D) each
    const past = cache.append(layer, k, v); // (B, H, L, D)
    return attendHeads(q, past.keys, past.values, cache.length);
  }

  /**
   * x [N, in] @ W [in, out] + b, with W stored Conv1D-style as in GPT-2 checkpoints, plus the
   * layer's adapter term when one is attached.
   */
  private linear(x: tf.Tensor2D | tf.Tensor, prefix: string, options: ForwardOptions): tf.Tensor2D {
    const weight = this.param(`${prefix}.weight`, options) as tf.Tensor2D;
    const bias = this.vars.has(`${prefix}.bias`) ? this.param(`${prefix}.bias`, options) : undefined;
    const out = tf.fused.matMul({ a: x as tf.Tensor2D, b: weight, bias }) as tf.Tensor2D;
    const adapter = this.adapters.get(prefix);
    return adapter ? tf.add(out, adapter.delta(x as tf.Tensor2D)) : out;
  }

  private layerNorm(x: tf.Tensor, prefix: string, options: ForwardOptions): tf.Tensor {
    const gamma = this.param(`${prefix}.weight`, options) as tf.Tensor1D;
    const beta = this.param(`${prefix}.bias`, options) as tf.Tensor1D;
    return layerNorm(x, gamma, beta, this.config.layerNormEpsilon);
  }
}
