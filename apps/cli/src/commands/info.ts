/** `forge info`: parameter count and memory of a preset or checkpoint, and the backend. */
import { Command } from 'commander';
import { resolveModelReference } from '@llm-forge/cluster-protocol';
import { countParameters, loadModelConfig, presetConfig, type GPTConfig } from '@llm-forge/gpt';
import { nativeAddonStatus } from '@llm-forge/tfjs-backend-native';
import { formatBytes } from '../model-source';
import { info, printJson } from '../output';
import { MODEL_HELP } from '../references';

interface InfoFlags {
  model?: string;
  preset?: string;
  json?: boolean;
}

/** Registers `forge info`. */
export function infoCommand(): Command {
  return new Command('info')
    .description('parameter count and memory of a model')
    .option('--model <model>', MODEL_HELP)
    .option('--preset <name>', 'a built-in preset')
    .option('--json', 'print the figures as JSON')
    .action(async (flags: InfoFlags) => {
      if (!flags.model === !flags.preset)
        throw new Error('give exactly one of --model <model> or --preset <name>');
      const config: GPTConfig = flags.model
        ? loadModelConfig(await resolveModelReference(flags.model))
        : presetConfig(flags.preset as string);
      const parameters = countParameters(config);
      // Training holds weights, gradients and two Adam moments: 4 float32 copies.
      const figures = {
        parameters,
        weights_bytes: parameters * 4,
        training_state_bytes: parameters * 16,
        config,
      };
      if (flags.json) return printJson({ ...figures, native_addon: nativeAddonStatus() });
      info(false, `parameters   ${parameters.toLocaleString()}`);
      info(false, `weights      ${formatBytes(figures.weights_bytes)} (float32)`);
      info(
        false,
        `training     ${formatBytes(figures.training_state_bytes)} (weights, gradients, AdamW moments; plus activations)`,
      );
      info(
        false,
        `shape        ${config.nLayers} layers, ${config.nHeads} heads, width ${config.embDim}, context ${config.contextLength}, vocab ${config.vocabSize}`,
      );
      info(
        false,
        `head         ${config.tiedHead ? 'tied to the token embedding' : 'separate'}; qkv bias ${config.qkvBias}; dropout ${config.dropRate}`,
      );
      const addon = nativeAddonStatus();
      info(false, `native addon ${addon.loaded ? 'loaded' : `not loaded (${addon.error})`}`);
    });
}
