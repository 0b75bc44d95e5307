/**
 * The tokenizer worker, as plain JavaScript run with `new Worker(code, { eval: true })`: it works
 * the same from TypeScript sources under ts-jest and from compiled `dist/`, since no .ts file is
 * loaded in the thread. It requires js-tiktoken by absolute path (given in `workerData`) and encodes
 * exactly as `createTokenizer()` of `@llm-forge/gpt` does (`encode(text, ['<|endoftext|>'], [])`);
 * a spec checks the two agree.
 *
 * Protocol: the parent posts `{ id, text, separatorFirst }`; the worker answers
 * `{ id, tokens: Uint16Array }` (buffer transferred) or `{ id, error: string }`.
 */

/** What the parent passes as `workerData`. */
export interface TokenizerWorkerData {
  /** Absolute path of `js-tiktoken/lite` (CommonJS build). */
  lite: string;
  /** Absolute path of `js-tiktoken/ranks/gpt2`. */
  ranks: string;
  /** `<|endoftext|>`. */
  endOfText: string;
  /** 50256. */
  endOfTextId: number;
}

/** A job for the worker. */
export interface TokenizeJob {
  /** Job number, echoed in the answer. */
  id: number;
  /** The chunk to tokenize. */
  text: string;
  /** Put `<|endoftext|>` before the chunk's tokens. */
  separatorFirst: boolean;
}

/** The worker's answer to a job. */
export type TokenizeResult = { id: number; tokens: Uint16Array } | { id: number; error: string };

/** Source of the worker thread. */
export const TOKENIZER_WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('worker_threads');
const { Tiktoken } = require(workerData.lite);
const encoding = new Tiktoken(require(workerData.ranks));
const special = [workerData.endOfText];
parentPort.on('message', (job) => {
  try {
    const ids = encoding.encode(job.text, special, []);
    const head = job.separatorFirst ? 1 : 0;
    const tokens = new Uint16Array(ids.length + head);
    if (head) tokens[0] = workerData.endOfTextId;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] > 0xffff) throw new Error('token id ' + ids[i] + ' does not fit a uint16 shard');
      tokens[head + i] = ids[i];
    }
    parentPort.postMessage({ id: job.id, tokens }, [tokens.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.message) || error) });
  }
});
`;
