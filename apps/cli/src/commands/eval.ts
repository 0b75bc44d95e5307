/** `forge eval`: mean loss and perplexity of a checkpoint on a text. */
import { Command } from 'commander';
import { BUILTIN_TEXT } from '@llm-forge/cluster-protocol';
import { createTokenizer, meanLoss, perplexity, slidingWindows, windowBatches } from '@llm-forge/gpt';
import { modelFromReference } from '../model-source';
import { positiveInt } from '../options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { loadText, MODEL_HELP } from '../references';

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
    .requiredOption('--model <model>', MODEL_HELP)
    .requiredOption('--text <file>', `text to evaluate on: a UTF-8 file, or ${BUILTIN_TEXT}`)
    .option('--context-length <T>', 'tokens per window (default: the model context)', positiveInt)
    .option('--stride <S>', 'step between windows (default: the context length)', positiveInt)
    .option('--batch-size <B>', 'windows per batch (the last partial batch is dropped)', positiveInt, 4)
    .option('--json', 'print {"loss", "perplexity", "batches"} as the last line')
    .action(async (flags: EvalFlags) => {
      const text = await loadText(flags.text);
      await startBackend();
      const model = await modelFromReference(flags.model);
      const T = flags.contextLength ?? model.config.contextLength;
      const windows = slidingWindows(createTokenizer().encode(text), T, flags.stride ?? T);
      const { loss, batches: count } = meanLoss(model, windowBatches(windows, flags.batchSize));
      if (flags.json) printJson({ loss, perplexity: perplexity(loss), batches: count });
      else
        info(
          false,
          `loss ${loss.toFixed(4)}  perplexity ${perplexity(loss).toFixed(2)}  (${count} batches of ${flags.batchSize}x${T})`,
        );
      model.dispose();
    });
}
