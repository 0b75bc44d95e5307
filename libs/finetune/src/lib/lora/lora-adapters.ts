/**
 * A set of LoRA adapters over a GPT: attached to its block linear layers (and, for a classifier,
 * its head), trained while the base stays frozen, saved apart from the base weights as
 * `adapter_config.json` + `adapter_model.safetensors`.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  blockLinearLayers,
  CheckpointError,
  Rng,
  SafetensorsFile,
  verifyChecksums,
  writeDirAtomic,
  writeSafetensors,
  writeTextFileAtomic,
  type GPTModel,
  variableTrainable,
  type TrainableTensor,
} from '@llm-forge/gpt';
import { LoraLayer, validateLoraSettings, type LoraSettings } from './lora-layer';

/** File names of a saved adapter folder. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** Options of {@link LoraAdapters.attach}. */
export interface LoraOptions extends LoraSettings {
  /** Seed of the A matrices' initialisation. @defaultValue 0 */
  seed?: number;
  /** Layer prefixes to adapt. @defaultValue every block's c_attn, c_proj, c_fc and mlp c_proj */
  layers?: readonly string[];
}

/** What `adapter_config.json` holds. */
export interface AdapterConfig {
  peft_type: 'LORA';
  r: number;
  lora_alpha: number;
  /** Adapted layers by parameter prefix (`h.0.attn.c_attn`, …, `score`). */
  target_modules: string[];
  /** How the tensors are stored: `<layer>.lora_A` [in, r], `<layer>.lora_B` [r, out]. */
  layout: string;
}

const LAYOUT = 'A [in, r], B [r, out]; output += (lora_alpha / r) * x @ A @ B';

/** LoRA adapters keyed by the prefix of the layer they adapt. */
export class LoraAdapters {
  readonly layers = new Map<string, LoraLayer>();
  private readonly rng: Rng;
  private model?: GPTModel;

  constructor(
    readonly settings: LoraSettings,
    seed = 0,
  ) {
    validateLoraSettings(settings);
    this.rng = new Rng(seed);
  }

  /**
   * Adds adapters to a GPT's block linear layers (all of them by default). The model's own
   * parameters are untouched; train {@link trainables} only to keep them frozen.
   */
  static attach(model: GPTModel, options: LoraOptions): LoraAdapters {
    const adapters = new LoraAdapters(options, options.seed ?? 0);
    const layers = options.layers ?? allBlockLayers(model.config.nLayers);
    for (const layer of layers) {
      const [inDim, outDim] = model.variable(`${layer}.weight`).shape;
      adapters.layers.set(layer, new LoraLayer(layer, inDim, outDim, options, adapters.rng));
      model.setAdapter(layer, adapters.layers.get(layer));
    }
    adapters.model = model;
    return adapters;
  }

  /** Adds an adapter for a layer the caller applies itself (e.g. a classification head). */
  add(layer: string, inDim: number, outDim: number): LoraLayer {
    const adapter = new LoraLayer(layer, inDim, outDim, this.settings, this.rng);
    this.layers.set(layer, adapter);
    return adapter;
  }

  /** Every A and B as trainable tensors (named `<layer>.lora_A` / `.lora_B`). */
  trainables(): TrainableTensor[] {
    return [...this.layers.values()].flatMap((l) => [
      variableTrainable(`${l.layer}.lora_A`, l.a),
      variableTrainable(`${l.layer}.lora_B`, l.b),
    ]);
  }

  /** Number of trainable values over every adapter. */
  get parameterCount(): number {
    return [...this.layers.values()].reduce((n, l) => n + l.parameterCount, 0);
  }

  /** Saves `adapter_config.json` and `adapter_model.safetensors` to a new folder (atomically). */
  save(dir: string, options: { overwrite?: boolean } = {}): void {
    const config: AdapterConfig = {
      peft_type: 'LORA',
      r: this.settings.rank,
      lora_alpha: this.settings.alpha,
      target_modules: [...this.layers.keys()],
      layout: LAYOUT,
    };
    const tensors = [...this.layers.values()].flatMap((l) => [
      { name: `${l.layer}.lora_A`, dtype: 'F32' as const, shape: l.a.shape, data: l.a.dataSync() },
      { name: `${l.layer}.lora_B`, dtype: 'F32' as const, shape: l.b.shape, data: l.b.dataSync() },
    ]);
    writeDirAtomic(
      dir,
      (tmp) => {
        writeTextFileAtomic(path.join(tmp, ADAPTER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
        writeSafetensors(path.join(tmp, ADAPTER_WEIGHTS_FILE), tensors, { format: 'pt' });
      },
      options,
    );
  }

  /** Reads a saved adapter folder (without attaching it anywhere). */
  static load(dir: string): LoraAdapters {
    verifyChecksums(dir, [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]);
    const config = readAdapterConfig(dir);
    const adapters = new LoraAdapters({ rank: config.r, alpha: config.lora_alpha });
    const file = SafetensorsFile.open(path.join(dir, ADAPTER_WEIGHTS_FILE));
    try {
      for (const layer of config.target_modules) {
        const [a, b] = ['lora_A', 'lora_B'].map((part) => {
          const name = `${layer}.${part}`;
          if (!file.tensors.has(name)) {
            throw new CheckpointError(
              file.path,
              `is missing tensor ${name}`,
              `${ADAPTER_CONFIG_FILE} lists ${layer}`,
            );
          }
          return { shape: file.info(name).shape, data: file.readFloat32(name) };
        });
        if (a.shape[1] !== config.r || b.shape[0] !== config.r) {
          throw new CheckpointError(
            file.path,
            `${layer}: A ${a.shape} and B ${b.shape} do not have rank ${config.r}`,
          );
        }
        const settings = { rank: config.r, alpha: config.lora_alpha };
        adapters.layers.set(
          layer,
          new LoraLayer(layer, a.shape[0], b.shape[1], settings, { a: a.data, b: b.data }),
        );
      }
    } finally {
      file.close();
    }
    return adapters;
  }

  /** Attaches loaded adapters to the model's block layers (other layers, e.g. `score`, are left to the caller). */
  attachTo(model: GPTModel): void {
    for (const [layer, adapter] of this.layers) if (layer.startsWith('h.')) model.setAdapter(layer, adapter);
    this.model = model;
  }

  /** Detaches from the model and frees every adapter. */
  dispose(): void {
    for (const [layer, adapter] of this.layers) {
      if (this.model && layer.startsWith('h.')) this.model.setAdapter(layer, undefined);
      adapter.dispose();
    }
    this.layers.clear();
  }
}

/** Every block linear layer of an n-layer GPT. */
export function allBlockLayers(nLayers: number): string[] {
  return Array.from({ length: nLayers }, (_, i) => blockLinearLayers(i)).flat();
}

/** Reads and checks `adapter_config.json`; CheckpointError naming the file otherwise. */
export function readAdapterConfig(dir: string): AdapterConfig {
  const file = path.join(dir, ADAPTER_CONFIG_FILE);
  let json: Partial<AdapterConfig>;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<AdapterConfig>;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CheckpointError(
      file,
      missing ? 'does not exist' : `is not valid JSON (${(e as Error).message})`,
      missing ? 'an adapter folder holds adapter_config.json and adapter_model.safetensors' : undefined,
    );
  }
  const modules = json.target_modules;
  if (json.peft_type !== 'LORA' || !Array.isArray(modules) || !modules.every((m) => typeof m === 'string')) {
    throw new CheckpointError(file, 'is not a LoRA adapter config (peft_type "LORA", target_modules [...])');
  }
  if (!Number.isInteger(json.r) || (json.r ?? 0) < 1 || !((json.lora_alpha ?? 0) > 0)) {
    throw new CheckpointError(
      file,
      `r must be a positive integer and lora_alpha positive, got ${json.r}, ${json.lora_alpha}`,
    );
  }
  return json as AdapterConfig;
}
