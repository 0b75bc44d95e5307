/**
 * `forge judge`: scores a responses file (written by `forge finetune instruct`, or the book's
 * `instruction-data-with-response.json`) 0–100 with a judge model behind any OpenAI-compatible
 * chat endpoint (Ollama: `--judge-url http://localhost:11434 --judge-model llama3`).
 */
import * as fs from 'fs';
import { Command } from 'commander';
import {
  JudgeClient,
  judgeOptionsFrom,
  loadResponses,
  scoreResponses,
  type JudgeOptions,
} from '@llm-forge/finetune';
import { info, printJson } from '../output';
import { positiveInt } from '../options';

interface JudgeFlags {
  responses: string;
  judgeUrl?: string;
  judgeModel?: string;
  judgeApiKey?: string;
  timeout: number;
  out?: string;
  json?: boolean;
}

/** Where the scores of `responsesFile` go by default: `x.json` → `x-scores.json`. */
export function scoresFileOf(responsesFile: string): string {
  return `${responsesFile.replace(/\.jsonl?$/, '')}-scores.json`;
}

/**
 * Scores every response in `file`, writes the scores (with the judge's replies) to `out`, and
 * returns the figures for a JSON summary. Progress goes through `info`.
 */
export async function judgeResponses(
  file: string,
  options: JudgeOptions,
  json: boolean | undefined,
  out = scoresFileOf(file),
): Promise<Record<string, unknown>> {
  const responses = loadResponses(file);
  const client = new JudgeClient(options);
  info(json, `scoring ${responses.length} responses with ${options.model} at ${client.endpoint}`);
  const summary = await scoreResponses(client, responses, (j) =>
    info(
      json,
      `response ${j.index + 1}/${responses.length}: ${j.score ?? `no score in ${JSON.stringify(j.reply)}`}`,
    ),
  );
  const scores = summary.judged.map((j) => ({ ...responses[j.index], score: j.score, judge_reply: j.reply }));
  fs.writeFileSync(
    out,
    `${JSON.stringify({ model: options.model, average: summary.average, scores }, null, 2)}\n`,
  );
  const average = summary.average === null ? 'none (no reply held a score)' : summary.average.toFixed(2);
  info(
    json,
    `average score ${average} over ${summary.scored} of ${responses.length} responses; scores in ${out}`,
  );
  return {
    judge_average: summary.average,
    judge_scored: summary.scored,
    judge_unparsed: summary.unparsed,
    judge_model: options.model,
    scores_file: out,
  };
}

/** Registers `forge judge`. */
export function judgeCommand(): Command {
  return new Command('judge')
    .description('score instruction responses 0-100 with a judge model (OpenAI-compatible chat endpoint)')
    .requiredOption('--responses <file>', 'JSON array or JSON Lines of entries with model_response')
    .option('--judge-url <url>', 'base URL or full chat-completions URL (or FORGE_JUDGE_URL)')
    .option('--judge-model <name>', 'judge model name (or FORGE_JUDGE_MODEL)')
    .option('--judge-api-key <key>', 'bearer token (or FORGE_JUDGE_API_KEY)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', positiveInt, 120000)
    .option('--out <file>', 'where to write the scores (default: <responses>-scores.json)')
    .option('--json', 'print a JSON summary as the last line')
    .action(async (flags: JudgeFlags) => {
      const options = judgeOptionsFrom({
        url: flags.judgeUrl,
        model: flags.judgeModel,
        apiKey: flags.judgeApiKey,
      });
      const result = await judgeResponses(
        flags.responses,
        { ...options, timeoutMs: flags.timeout },
        flags.json,
        flags.out,
      );
      if (flags.json) printJson(result);
    });
}
