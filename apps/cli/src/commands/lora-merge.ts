/** `forge lora merge`: fold LoRA adapters into a copy of the base weights. */
import { Command } from 'commander';
import { mergeLoraFolder } from '@llm-forge/finetune';
import { info } from '../output';

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
    .requiredOption('--model <dir>', 'base model folder the adapters were trained on')
    .requiredOption('--adapter <dir>', 'adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'directory for the merged model')
    .option('--overwrite', 'replace an existing --out directory')
    .action((flags: MergeFlags) => {
      const { mergedLayers } = mergeLoraFolder(flags.model, flags.adapter, flags.out, {
        overwrite: flags.overwrite,
      });
      info(false, `merged ${mergedLayers.length} adapted layers into ${flags.out}`);
    });
  // addCommand does not pass settings down: the subcommand needs its own exitOverride.
  return new Command('lora')
    .description('LoRA adapters: merge them into base weights')
    .addCommand(merge.exitOverride());
}
