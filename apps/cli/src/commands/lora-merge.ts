/** `forge lora merge`: fold LoRA adapters into a copy of the base weights. */
import { Command } from 'commander';
import { resolveModelReference } from '@llm-forge/cluster-protocol';
import { mergeLoraFolder } from '@llm-forge/finetune';
import { startBackend } from '../backend';
import { info } from '../output';
import { MODEL_HELP } from '../references';

interface MergeFlags {
  model: string;
  adapter: string;
  out: string;
  overwrite?: boolean;
}

/** Registers `forge lora` with its subcommand `merge`. */
export function loraCommand(): Command {
  const merge = new Command('merge')
    .description('write base weights + (alpha/rank)·A·B for every adapted layer as a plain model folder')
    .requiredOption('--model <model>', `base model the adapters were trained on: ${MODEL_HELP}`)
    .requiredOption('--adapter <dir>', 'adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'directory for the merged model')
    .option('--overwrite', 'replace an existing --out directory')
    .action(async (flags: MergeFlags) => {
      // The merge runs tensor ops: without a backend chosen first, tfjs falls back to its CPU
      // backend, which prints a banner asking to install tfjs-node.
      await startBackend();
      const model = await resolveModelReference(flags.model);
      const { mergedLayers } = mergeLoraFolder(model, flags.adapter, flags.out, {
        overwrite: flags.overwrite,
      });
      info(false, `merged ${mergedLayers.length} adapted layers into ${flags.out}`);
    });
  // addCommand does not pass settings down: the subcommand needs its own exitOverride.
  return new Command('lora')
    .description('LoRA adapters: merge them into base weights')
    .addCommand(merge.exitOverride());
}
