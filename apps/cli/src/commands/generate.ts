/** `forge generate`: continue a prompt with a checkpoint, streaming the text. */
import { Command } from 'commander';
import { createTokenizer, generateTokens } from '@llm-forge/gpt';
import { modelFromReference } from '../model-source';
import { integer, nonNegativeInt, nonNegativeNumber, probability } from '../options';
import { startBackend } from '../backend';
import { MODEL_HELP } from '../references';

interface GenerateFlags {
  model: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  eos: boolean;
  cache: boolean;
}

/** Registers `forge generate`. */
export function generateCommand(): Command {
  return new Command('generate')
    .description('generate text after a prompt (greedy at temperature 0)')
    .requiredOption('--model <model>', MODEL_HELP)
    .requiredOption('--prompt <text>', 'the text to continue')
    .option('--max-new-tokens <N>', 'tokens to generate at most', nonNegativeInt, 50)
    .option('--temperature <x>', 'sampling temperature (0: greedy)', nonNegativeNumber, 0)
    .option('--top-k <K>', 'sample among the K most likely tokens', nonNegativeInt)
    .option('--top-p <P>', 'nucleus sampling: the most likely tokens covering P', probability)
    .option('--seed <N>', 'sampling seed', integer, 123)
    .option('--no-eos', 'do not stop at <|endoftext|>')
    .option('--no-cache', 'recompute the whole prefix for every token (no KV cache)')
    .action(async (flags: GenerateFlags) => {
      await startBackend();
      const model = await modelFromReference(flags.model);
      const tokenizer = createTokenizer();
      const prompt = tokenizer.encode(flags.prompt);
      process.stdout.write(flags.prompt);
      const generated: number[] = [];
      let printed = '';
      for (const id of generateTokens(model, prompt, {
        maxNewTokens: flags.maxNewTokens,
        temperature: flags.temperature,
        topK: flags.topK,
        topP: flags.topP,
        seed: flags.seed,
        eosId: flags.eos ? tokenizer.endOfTextId : undefined,
        useCache: flags.cache,
      })) {
        if (id === tokenizer.endOfTextId && flags.eos) break;
        generated.push(id);
        // Decode the whole continuation so multi-token characters print whole.
        const text = tokenizer.decode(generated);
        if (!text.endsWith('\uFFFD')) {
          process.stdout.write(text.slice(printed.length));
          printed = text;
        }
      }
      process.stdout.write(`${tokenizer.decode(generated).slice(printed.length)}\n`);
      model.dispose();
    });
}
