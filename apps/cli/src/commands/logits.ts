/** `forge logits`: next-token logits of one sequence, for checking against another implementation. */
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { createTokenizer } from '@llm-forge/gpt';
import { modelFromReference } from '../model-source';
import { positiveInt } from '../options';
import { info, printJson } from '../output';
import { startBackend } from '../backend';
import { MODEL_HELP } from '../references';

interface LogitsFlags {
  model: string;
  prompt: string;
  topK: number;
  json?: boolean;
}

/** Registers `forge logits`. */
export function logitsCommand(): Command {
  return new Command('logits')
    .description('top-k next-token logits after a prompt, and logsumexp at every position')
    .requiredOption('--model <model>', MODEL_HELP)
    .requiredOption('--prompt <text>', 'the input text')
    .option('--top-k <K>', 'how many logits to show', positiveInt, 10)
    .option('--json', 'print {"tokens", "top", "logsumexp"} as the last line')
    .action(async (flags: LogitsFlags) => {
      await startBackend();
      const model = await modelFromReference(flags.model);
      const tokenizer = createTokenizer();
      const tokens = tokenizer.encode(flags.prompt).slice(-model.config.contextLength);
      if (tokens.length === 0) throw new Error('the prompt encodes to no tokens');
      const { top, logsumexp } = tf.tidy(() => {
        const logits = tf.squeeze(
          model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32')),
          [0],
        ) as tf.Tensor2D; // (T, V)
        const last = tf.squeeze(tf.slice(logits, [tokens.length - 1, 0], [1, -1]), [0]);
        const { values, indices } = tf.topk(last, Math.min(flags.topK, model.config.vocabSize));
        const ids = Array.from(indices.dataSync());
        const vals = Array.from(values.dataSync());
        return {
          top: ids.map((id, i) => [id, vals[i]] as [number, number]),
          logsumexp: Array.from(tf.logSumExp(logits, -1).dataSync()),
        };
      });
      if (flags.json) printJson({ tokens, top, logsumexp });
      else {
        info(false, `${tokens.length} tokens; top ${top.length} next tokens:`);
        for (const [id, logit] of top)
          info(
            false,
            `${String(id).padStart(6)}  ${logit.toFixed(4).padStart(10)}  ${JSON.stringify(tokenizer.decode([id]))}`,
          );
      }
      model.dispose();
    });
}
