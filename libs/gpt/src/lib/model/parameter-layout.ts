import type { GPTConfig } from './config';

/** One named parameter: its Hugging Face GPT-2 name, shape and place in the flat buffer. */
export interface ParameterSpec {
  /** Hugging Face GPT-2 name, e.g. `h.0.attn.c_attn.weight`. */
  name: string;
  /** Shape as stored (linear weights are [in, out], Conv1D style; wte/wpe/lm_head are [rows, C]). */
  shape: number[];
  /** Offset in elements into the flat parameter buffer. */
  offset: number;
  /** Number of elements. */
  size: number;
}

/**
 * The flat layout of every parameter, computed once from the config (llm.c style): parameters,
 * gradients and Adam moments are single Float32Arrays indexed by it, which makes AdamW, gradient
 * clipping, all-reduce and checkpoints one loop over one array.
 */
export interface ParameterLayout {
  specs: ParameterSpec[];
  /** Total number of parameter elements. */
  totalSize: number;
}

/** Names and shapes of a GPT's parameters, in checkpoint order (Hugging Face GPT-2 names). */
export function parameterShapes(config: GPTConfig): Array<[string, number[]]> {
  const C = config.embDim;
  const shapes: Array<[string, number[]]> = [
    ['wte.weight', [config.vocabSize, C]],
    ['wpe.weight', [config.contextLength, C]],
  ];
  for (let i = 0; i < config.nLayers; i++) {
    const p = `h.${i}`;
    shapes.push([`${p}.ln_1.weight`, [C]], [`${p}.ln_1.bias`, [C]]);
    shapes.push([`${p}.attn.c_attn.weight`, [C, 3 * C]]);
    if (config.qkvBias) shapes.push([`${p}.attn.c_attn.bias`, [3 * C]]);
    shapes.push([`${p}.attn.c_proj.weight`, [C, C]], [`${p}.attn.c_proj.bias`, [C]]);
    shapes.push([`${p}.ln_2.weight`, [C]], [`${p}.ln_2.bias`, [C]]);
    shapes.push([`${p}.mlp.c_fc.weight`, [C, 4 * C]], [`${p}.mlp.c_fc.bias`, [4 * C]]);
    shapes.push([`${p}.mlp.c_proj.weight`, [4 * C, C]], [`${p}.mlp.c_proj.bias`, [C]]);
  }
  shapes.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  if (!config.tiedHead) shapes.push(['lm_head.weight', [config.vocabSize, C]]);
  return shapes;
}

/** Computes the flat parameter layout of a config. */
export function parameterLayout(config: GPTConfig): ParameterLayout {
  let offset = 0;
  const specs = parameterShapes(config).map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, offset, size };
    offset += size;
    return spec;
  });
  return { specs, totalSize: offset };
}

/** Total parameter count of a config (the book's 124M config, untied, qkv_bias false: 163,009,536). */
export function countParameters(config: GPTConfig): number {
  return parameterLayout(config).totalSize;
}
