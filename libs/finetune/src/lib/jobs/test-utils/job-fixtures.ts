/**
 * Test fixtures of finetune jobs: one tiny GPT-2-vocabulary base checkpoint (built once per test
 * file), small synthetic datasets in temporary files, specs through the protocol's schema, and
 * contexts over the in-process all-reduce.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { finetuneSpecSchema, type FinetuneSpec, type FinetuneSpecInput } from '@llm-forge/cluster-protocol';
import { GPTModel, saveModel, type GPTConfig } from '@llm-forge/gpt';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import type { FinetuneJobContext, FinetuneProgress } from '../finetune-job';

/** The shared tiny config with room for an Alpaca prompt's start (prompts are cut to 32 tokens). */
export const JOB_CONFIG: GPTConfig = { ...TEST_CONFIG, contextLength: 32 };

/** A temporary folder with a tiny base checkpoint and the datasets. */
export interface JobFixture {
  root: string;
  baseDir: string;
  classificationFile: string;
  alpacaFile: string;
  /** A new, empty output directory. */
  outDir(name: string): string;
  cleanup(): void;
}

/** 48 short texts whose class shows in their words, as `label,text` CSV with a header. */
function classificationCsv(): string {
  const ham = ['see you at lunch', 'meeting moved to noon', 'call me later tonight', 'thanks for the notes'];
  const spam = ['win free cash now', 'claim your prize today', 'free entry win money', 'urgent prize claim'];
  const rows = [...Array(6).keys()].flatMap((i) => [
    ...ham.map((t) => `ham,${t} ${i}`),
    ...spam.map((t) => `spam,${t} ${i}`),
  ]);
  return `label,text\n${rows.join('\n')}\n`;
}

/** 30 Alpaca entries (some with input): 25 train, 3 test, 2 validation after the book's split. */
function alpacaJson(): string {
  const colors = ['red', 'green', 'blue', 'black', 'white'];
  const entries = [...Array(30).keys()].map((i) =>
    i % 2 === 0
      ? { instruction: 'Name the color.', input: `It is ${colors[i % 5]}.`, output: `${colors[i % 5]} ${i}` }
      : { instruction: `Count to ${i % 7}.`, input: '', output: `${i % 7}` },
  );
  return JSON.stringify(entries, null, 1);
}

/** Builds the fixture folder (the random 50257-token embedding takes a moment: once per file). */
export function createJobFixture(): JobFixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-finetune-job-'));
  const baseDir = path.join(root, 'base');
  const model = GPTModel.random(JOB_CONFIG, 7);
  saveModel(baseDir, JOB_CONFIG, model.readParameters());
  model.dispose();
  const classificationFile = path.join(root, 'spam.csv');
  fs.writeFileSync(classificationFile, classificationCsv());
  const alpacaFile = path.join(root, 'alpaca.json');
  fs.writeFileSync(alpacaFile, alpacaJson());
  return {
    root,
    baseDir,
    classificationFile,
    alpacaFile,
    outDir: (name) => fs.mkdtempSync(path.join(root, `${name}-`)),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** A validated spec (defaults filled in by the protocol's schema). */
export function jobSpec(input: FinetuneSpecInput): FinetuneSpec {
  return finetuneSpecSchema.parse(input);
}

/** A test's sum over the ranks (an in-process all-reduce, or a stand-in for one rank). */
export type TestAllReduce = (values: Float32Array, options?: { timeoutMs?: number }) => Promise<void>;

/** A context for rank `rank` over `allReduce`, recording progress reports and log lines. */
export function jobContext(
  outDir: string,
  rank: number,
  worldSize: number,
  allReduce: TestAllReduce,
  extra: Partial<FinetuneJobContext> = {},
): FinetuneJobContext & {
  progress: FinetuneProgress[];
  logs: Array<{ message: string; fields?: Record<string, unknown> }>;
} {
  const progress: FinetuneProgress[] = [];
  const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  return {
    collective: {
      rank,
      worldSize,
      allReduce: async (values, { timeoutMs }) => {
        await allReduce(values, timeoutMs !== undefined ? { timeoutMs } : undefined);
        return { elapsedMs: 0, bytesSent: 0 };
      },
    },
    outDir,
    onProgress: (p) => progress.push(p),
    log: (message, fields) => logs.push({ message, fields }),
    ...extra,
    progress,
    logs,
  };
}

/** The largest element-wise difference (libs/gpt's test helper). */
export { maxAbsDiff } from '@llm-forge/gpt/testing';

/** Whether two float arrays hold the same bytes. */
export function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
