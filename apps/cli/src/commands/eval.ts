/** `forge eval`: mean loss and perplexity of a checkpoint on a text. */
import { Command } from 'commander';
import { BatchLoader, createTokenizer, meanLoss, perplexity, slidingWindows } from '@llm-forge/gpt';
import { readText } from '@llm-forge/data-shards';
import { modelFromCheckpoint } from '../model-source';
import { positiveInt } from '../options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';

interface EvalFlags {
  model: string;
  text: string;
  contextLength?: number;
  stride?: number;
  batchSize: number;
  json?: boolean;
}

/** Registers `forge eval`. */
export function evalCommand(): Command {
  return new Command('eval')
    .description('mean cross-entropy and perplexity of a model over the windows of a text')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--text <file>', 'UTF-8 text to evaluate on')
    .option('--context-length <T>', 'tokens per window (default: the model context)', positiveInt)
    .option('--stride <S>', 'step between windows (default: the context length)', positiveInt)
    .option('--batch-size <B>', 'windows per batch (the last partial batch is dropped)', positiveInt, 4)
    .option('--json', 'print {"loss", "perplexity", "batches"} as the last line')
    .action(async (flags: EvalFlags) => {
      await startBackend();
      const text = readText(flags.text);
      const model = modelFromCheckpoint(flags.model);
      const T = flags.contextLength ?? model.config.contextLength;
      const windows = slidingWindows(createTokenizer().encode(text), T, flags.stride ?? T);
      const loader = new BatchLoader(windows, { batchSize: flags.batchSize, shuffle: false, dropLast: true });
      const batches = Array.from({ length: loader.batchesPerEpoch }, (_, i) => loader.batchAt(0, i));
      const { loss, batches: count } = meanLoss(model, batches);
      if (flags.json) printJson({ loss, perplexity: perplexity(loss), batches: count });
      else
        info(
          false,
          `loss ${loss.toFixed(4)}  perplexity ${perplexity(loss).toFixed(2)}  (${count} batches of ${flags.batchSize}x${T})`,
        );
      model.dispose();
    });
}
