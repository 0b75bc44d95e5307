/**
 * Tokenizing chunks in parallel: a pool of worker threads, each with its own GPT-2 encoding. Jobs
 * go to the least busy worker; results resolve per job, so the caller — which awaits them in
 * submission order — gets a token stream that does not depend on thread scheduling. With 0
 * threads, chunks are tokenized in the calling thread.
 */
import { Worker } from 'worker_threads';
import { END_OF_TEXT, END_OF_TEXT_ID, TokenizerError } from '@llm-forge/gpt';
import { encodeChunk } from './encode-chunk';
import {
  TOKENIZER_WORKER_SOURCE,
  type TokenizeJob,
  type TokenizeResult,
  type TokenizerWorkerData,
} from './worker-script';

/** Tokenizes chunks, possibly in other threads. */
export interface ChunkEncoder {
  /** Worker threads in use (0: the calling thread). */
  readonly threads: number;
  /** Token ids of a chunk, `<|endoftext|>` first when `separatorFirst`. */
  encode(text: string, separatorFirst: boolean): Promise<Uint16Array>;
  /** Stops the threads; pending jobs are rejected. */
  close(): Promise<void>;
}

/** Jobs queued per worker, so a worker never waits for the parent between two chunks. */
const JOBS_PER_WORKER = 2;

interface Pending {
  resolve: (tokens: Uint16Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
}

class InlineEncoder implements ChunkEncoder {
  readonly threads = 0;

  async encode(text: string, separatorFirst: boolean): Promise<Uint16Array> {
    return encodeChunk(text, separatorFirst);
  }

  async close(): Promise<void> {
    // nothing to stop
  }
}

class WorkerPoolEncoder implements ChunkEncoder {
  private readonly slots: Slot[] = [];
  private readonly queue: Array<TokenizeJob & Pending> = [];
  private nextId = 0;
  private failure: Error | undefined;

  constructor(readonly threads: number) {
    const workerData: TokenizerWorkerData = {
      lite: require.resolve('js-tiktoken/lite'),
      ranks: require.resolve('js-tiktoken/ranks/gpt2'),
      endOfText: END_OF_TEXT,
      endOfTextId: END_OF_TEXT_ID,
    };
    for (let i = 0; i < threads; i++) {
      const slot: Slot = {
        worker: new Worker(TOKENIZER_WORKER_SOURCE, { eval: true, workerData }),
        jobs: new Map(),
      };
      slot.worker.on('message', (result: TokenizeResult) => this.settle(slot, result));
      slot.worker.on('error', (error: Error) =>
        this.fail(new TokenizerError(`tokenizer thread failed: ${error.message}`)),
      );
      slot.worker.on('exit', (code) => {
        if (code !== 0 && !this.failure)
          this.fail(new TokenizerError(`tokenizer thread exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  encode(text: string, separatorFirst: boolean): Promise<Uint16Array> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, text, separatorFirst, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.fail(new TokenizerError('tokenizer pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
      if (slot.jobs.size >= JOBS_PER_WORKER) return;
      const { resolve, reject, ...job } = this.queue.shift() as TokenizeJob & Pending;
      slot.jobs.set(job.id, { resolve, reject });
      slot.worker.postMessage(job);
    }
  }

  private settle(slot: Slot, result: TokenizeResult): void {
    const pending = slot.jobs.get(result.id);
    if (!pending) return;
    slot.jobs.delete(result.id);
    if ('error' in result) pending.reject(new TokenizerError(`cannot tokenize: ${result.error}`));
    else pending.resolve(result.tokens);
    this.dispatch();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const slot of this.slots) {
      for (const pending of slot.jobs.values()) pending.reject(this.failure);
      slot.jobs.clear();
    }
    for (const job of this.queue.splice(0)) job.reject(this.failure);
  }
}

/** An encoder with `threads` worker threads, or tokenizing in the calling thread for 0. */
export function createChunkEncoder(threads: number): ChunkEncoder {
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`threads must be an integer >= 0, got ${String(threads)}`);
  }
  return threads === 0 ? new InlineEncoder() : new WorkerPoolEncoder(threads);
}
