/**
 * Merging adapters into base weights: W += (alpha / r) · A @ B for every adapted layer. `forge lora
 * merge` does it on the tensors of a model folder, so it serves plain language models and classifiers
 * alike and the result loads with no adapter code at all; an instruction finetune saves its model
 * merged in memory ({@link mergedParameters}).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  CheckpointError,
  CONFIG_FILE,
  MODEL_FILE,
  SafetensorsFile,
  verifyChecksums,
  writeDirAtomic,
  writeSafetensors,
  type GPTModel,
  type TensorToWrite,
} from '@llm-forge/gpt';
import { LoraAdapters } from './lora-adapters';

/** Heads stored as torch.nn.Linear weights [out, in]; GPT-2's Conv1D block layers are [in, out]. */
const OUT_IN_LAYERS = new Set(['score', 'lm_head']);

/** Adds `update` [in, out] into `weight`, stored [in, out] or, for {@link OUT_IN_LAYERS}, [out, in]. */
function addUpdate(
  weight: Float32Array,
  update: Float32Array,
  inDim: number,
  outDim: number,
  outIn: boolean,
): void {
  if (!outIn) {
    for (let i = 0; i < weight.length; i++) weight[i] += update[i];
    return;
  }
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) weight[o * inDim + i] += update[i * outDim + o];
  }
}

/** The model's config.json text; a LoRA classifier's is marked as having no adapters any more. */
function mergedConfig(file: string): string {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const forge = json['forge_classifier'];
  if (forge && typeof forge === 'object') json['forge_classifier'] = { ...forge, lora: false };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Writes `outDir`: the model folder `modelDir` with the adapters of `adapterDir` merged into its
 * weights (config.json copied, weights as F32). Throws a CheckpointError naming the layer
 * when an adapter has no matching weight or the shapes disagree.
 */
export function mergeLoraFolder(
  modelDir: string,
  adapterDir: string,
  outDir: string,
  options: { overwrite?: boolean } = {},
): { mergedLayers: string[] } {
  verifyChecksums(modelDir, [CONFIG_FILE, MODEL_FILE]);
  const adapters = LoraAdapters.load(adapterDir);
  const file = SafetensorsFile.open(path.join(modelDir, MODEL_FILE));
  try {
    const tensors = new Map<string, TensorToWrite & { data: Float32Array }>();
    for (const name of file.tensors.keys()) {
      tensors.set(name, { name, dtype: 'F32', shape: file.info(name).shape, data: file.readFloat32(name) });
    }
    for (const [layer, adapter] of adapters.layers) {
      const weight = tensors.get(`${layer}.weight`) ?? tensors.get(`transformer.${layer}.weight`);
      const outIn = OUT_IN_LAYERS.has(layer);
      const expected = outIn ? [adapter.outDim, adapter.inDim] : [adapter.inDim, adapter.outDim];
      if (!weight) {
        throw new CheckpointError(
          file.path,
          `has no tensor ${layer}.weight for the adapter's layer ${layer}`,
          'merge the adapter into the model it was trained on',
        );
      }
      if (weight.shape.join(',') !== expected.join(',')) {
        throw new CheckpointError(
          file.path,
          `tensor ${weight.name} has shape [${weight.shape.join(', ')}], the adapter needs [${expected.join(', ')}]`,
          'merge the adapter into the model it was trained on',
        );
      }
      addUpdate(weight.data, adapter.update(), adapter.inDim, adapter.outDim, outIn);
    }
    const config = mergedConfig(path.join(modelDir, CONFIG_FILE));
    writeDirAtomic(
      outDir,
      (tmp) => {
        fs.writeFileSync(path.join(tmp, CONFIG_FILE), config);
        writeSafetensors(path.join(tmp, MODEL_FILE), [...tensors.values()], { format: 'pt' });
      },
      options,
    );
    return { mergedLayers: [...adapters.layers.keys()] };
  } finally {
    file.close();
    adapters.dispose();
  }
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
    const weight = params.subarray(spec.offset, spec.offset + spec.size); // [in, out]
    const update = adapter.update();
    for (let i = 0; i < weight.length; i++) weight[i] += update[i];
  }
  return params;
}
