/** `forge prepare`: tokenize a corpus into GPT-2 token shards with a manifest and checksums. */
import * as path from 'path';
import { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import {
  DEFAULT_SHARD_TOKENS,
  MANIFEST_FILE,
  prepareShards,
  type PrepareInput,
  type PrepareSummary,
} from '@llm-forge/data-shards';
import { BUILTIN_TEXT } from '@llm-forge/cluster-protocol';
import { ForgeError } from '@llm-forge/gpt';
import { builtinCorpus } from '@llm-forge/data-shards';
import { fraction, nonNegativeInt, positiveInt } from '../options';
import { info, printJson } from '../output';

interface PrepareFlags {
  input: string[];
  out: string;
  valFraction: number;
  shardTokens: number;
  threads?: number;
  json?: boolean;
}

/** Built-in corpora by their `--input` name; each is one document. */
const BUILTIN: Record<string, () => string> = { [BUILTIN_TEXT]: builtinCorpus };

function resolveInput(input: string): PrepareInput {
  if (!input.startsWith('builtin:')) return input;
  const corpus = BUILTIN[input];
  if (!corpus)
    throw new ForgeError(`unknown built-in corpus ${input}`, `available: ${Object.keys(BUILTIN).join(', ')}`);
  return { name: input, documents: [corpus()] };
}

/** Registers `forge prepare`. */
export function prepareCommand(): Command {
  return new Command('prepare')
    .description(
      'tokenize text files, folders, JSONL or the built-in corpus into token shards with a manifest',
    )
    .requiredOption(
      '--input <paths...>',
      'text files, folders (searched for .txt/.md/.jsonl), .jsonl files (a "text" field per line), or builtin:moby-dick',
    )
    .requiredOption('--out <dir>', 'dataset folder; an interrupted run into it is continued')
    .option(
      '--val-fraction <f>',
      'fraction of the tokens, from the end, held out for validation (0: none)',
      fraction,
      0.1,
    )
    .option('--shard-tokens <N>', 'tokens per shard', positiveInt, DEFAULT_SHARD_TOKENS)
    .option('--threads <N>', 'tokenizer threads (0: none; default: one per core)', nonNegativeInt)
    .option('--json', 'print a JSON summary as the last line')
    .action(async (flags: PrepareFlags) => runPrepare(flags));
}

async function runPrepare(flags: PrepareFlags): Promise<void> {
  const inputs = flags.input.map(resolveInput);
  const bar = flags.json
    ? undefined
    : new SingleBar(
        {
          format: 'prepare |{bar}| {percentage}% | {tokens} tokens | {shards} shards | ETA {eta_formatted}',
          hideCursor: true,
        },
        Presets.shades_classic,
      );
  // Ctrl-C stops between chunks: finished shards stay and a rerun continues (a second Ctrl-C kills).
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  let started = false;
  let summary: PrepareSummary;
  try {
    summary = await prepareShards({
      inputs,
      outDir: flags.out,
      valFraction: flags.valFraction,
      shardTokens: flags.shardTokens,
      threads: flags.threads,
      signal: interrupt.signal,
      onProgress: (p) => {
        const payload = { tokens: p.tokens.toLocaleString(), shards: p.shards };
        if (!started) bar?.start(p.bytesTotal, 0, payload);
        started = true;
        bar?.update(Math.min(p.bytesDone, p.bytesTotal), payload);
      },
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    bar?.stop();
  }
  const m = summary.manifest;
  for (const line of summary.droppedShards) info(flags.json, `rewrote from a bad shard: ${line}`);
  if (summary.resumedShards > 0)
    info(flags.json, `kept ${summary.resumedShards} verified shards of an earlier run`);
  info(
    flags.json,
    `prepared ${flags.out}: ${m.shards.length} shards, ${m.total_tokens.toLocaleString()} tokens (train ${m.split.train.tokens.toLocaleString()}, validation ${m.split.validation.tokens.toLocaleString()}) from ${m.documents.toLocaleString()} documents`,
  );
  if (summary.newTokens > 0) {
    info(
      flags.json,
      `tokenized ${summary.newTokens.toLocaleString()} tokens in ${summary.seconds.toFixed(1)} s (${Math.round(summary.tokensPerSecond).toLocaleString()} tokens/s, ${summary.threads} threads)`,
    );
  }
  if (flags.json) {
    printJson({
      out: flags.out,
      manifest: path.join(flags.out, MANIFEST_FILE),
      shards: m.shards.length,
      tokens: m.total_tokens,
      train_tokens: m.split.train.tokens,
      val_tokens: m.split.validation.tokens,
      documents: m.documents,
      resumed_shards: summary.resumedShards,
      new_tokens: summary.newTokens,
      seconds: summary.seconds,
      tokens_per_second: summary.tokensPerSecond,
      threads: summary.threads,
    });
  }
}
