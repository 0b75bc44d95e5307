import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { CollectiveClosedError } from '../errors/collective-closed-error';
import { CollectiveConfigError } from '../errors/collective-config-error';
import {
  AllReduceOptions,
  RING_DEFAULTS,
  RingAllReduceOptions,
  resolveRingOptions,
} from '../options/ring-options';
import type { AllReduceResult, AllReduceRing } from '../ring/all-reduce-ring';
import {
  FromRingThread,
  RingThreadConfig,
  KernelExports,
  KernelOption,
  ToRingThread,
  deserializeError,
  splitKernels,
} from './ring-thread-protocol';

/** The compiled thread entry beside this file (absent when running from TypeScript sources). */
const THREAD_FILE = path.join(__dirname, 'ring-thread.js');

/**
 * Options of a {@link ThreadedRingAllReduce}: the ring's, with its kernels (`sumInto`,
 * `divideInPlace`, `bf16Encode`, `bf16Decode`, `bf16Round`) named as module exports the thread
 * requires, since functions cannot be posted to a thread. Absent kernels are the JavaScript defaults.
 */
export interface ThreadedRingOptions extends Omit<RingAllReduceOptions, KernelOption>, KernelExports {
  /** The thread's entry file. @defaultValue the compiled ring-thread.js beside this module */
  threadFile?: string;
}

interface Pending {
  resolve: (result: AllReduceResult | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * A {@link RingAllReduce} on a thread of its own, behind the same interface. The gRPC streams,
 * their buffers and the reduction then live in a small V8 heap with its own garbage collector and
 * its own core: in a process that also holds TensorFlow.js and a model, the ring's chunk
 * buffers otherwise trigger full collections of the large heap — measured at 1.7x the CPU per
 * byte of a ring alone (docs/benchmarks.md) — and its event loop is not shared with compute.
 * A buffer on a SharedArrayBuffer (e.g. a Trainer's with `sharedGradients`) is reduced in place;
 * any other is copied into shared memory and back.
 */
export class ThreadedRingAllReduce implements AllReduceRing {
  /** Called once if the thread dies (every waiting and later call fails); e.g. to restart the process. */
  onLost?: (error: Error) => void;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private shared = new SharedArrayBuffer(0);
  private stagingInUse = false;
  private place: { rank: number; worldSize: number };
  private closed = false;
  private failure?: Error;

  private constructor(
    private readonly thread: Worker,
    readonly address: string,
    private readonly ringOptions: Omit<RingAllReduceOptions, KernelOption>,
  ) {
    this.place = { rank: ringOptions.rank, worldSize: ringOptions.worldSize };
    thread.on('message', (message: FromRingThread) => this.receive(message));
    thread.on('error', (error) => this.lost(error));
    thread.on('exit', (code) => {
      if (!this.closed) this.lost(new Error(`the collective thread exited with code ${code}`));
    });
  }

  /** True when the compiled thread entry exists (false under ts-jest, which runs the sources). */
  static available(threadFile = THREAD_FILE): boolean {
    return fs.existsSync(threadFile);
  }

  /** Starts the thread, which binds the ring's collective server; resolves once it listens. */
  static async listen(options: ThreadedRingOptions): Promise<ThreadedRingAllReduce> {
    const { threadFile = THREAD_FILE, ...rest } = options;
    const { ringOptions, kernels } = splitKernels(rest);
    if (!ThreadedRingAllReduce.available(threadFile)) {
      throw new CollectiveConfigError(
        'threadFile',
        `${threadFile} does not exist`,
        'build the library (npm run build), or use RingAllReduce on the calling thread',
      );
    }
    const config: RingThreadConfig = { options: ringOptions, kernels };
    const thread = new Worker(threadFile, { workerData: config });
    const address = await new Promise<string>((resolve, reject) => {
      thread.once('message', (message: FromRingThread) => {
        if (message.type === 'ready') resolve(message.address);
        else if (message.type === 'fatal') reject(deserializeError(message.error));
      });
      thread.once('error', reject);
      thread.once('exit', (code) =>
        reject(new Error(`the collective thread exited with code ${code} while starting`)),
      );
    }).catch(async (error: unknown) => {
      await thread.terminate();
      throw error;
    });
    return new ThreadedRingAllReduce(thread, address, ringOptions);
  }

  /** This rank. */
  get rank(): number {
    return this.place.rank;
  }

  /** Number of ranks. */
  get worldSize(): number {
    return this.place.worldSize;
  }

  /** How long an operation waits for its peers unless it says otherwise (milliseconds). */
  get timeoutMs(): number {
    return this.ringOptions.timeoutMs ?? RING_DEFAULTS.timeoutMs;
  }

  /** See {@link RingAllReduce.connect}. */
  async connect(addresses: readonly string[], timeoutMs?: number): Promise<void> {
    await this.request({ type: 'connect', id: this.nextId++, addresses: [...addresses], timeoutMs });
  }

  /** See {@link RingAllReduce.reconfigure}; takes effect in the thread before any later request. */
  reconfigure(place: { rank: number; worldSize: number; jobId?: string }): void {
    if (this.closed) throw new CollectiveClosedError('reconfigure');
    resolveRingOptions({ ...this.ringOptions, ...place }); // throws here, as the ring would
    this.place = { rank: place.rank, worldSize: place.worldSize };
    this.request({ type: 'reconfigure', id: this.nextId++, place }).catch((error: Error) => {
      this.failure ??= error;
    });
  }

  /**
   * See {@link RingAllReduce.allReduce} (calls may overlap; the thread runs them in call order). A
   * buffer on a SharedArrayBuffer is reduced in place by the thread; any other is copied to shared
   * memory and back.
   */
  async allReduce(buffer: Float32Array, options: AllReduceOptions): Promise<AllReduceResult> {
    const failure = this.failure;
    if (failure) {
      this.failure = undefined;
      throw failure;
    }
    const inPlace = buffer.buffer instanceof SharedArrayBuffer;
    const staged = inPlace ? buffer : this.stage(buffer);
    try {
      const result = await this.request({
        type: 'all-reduce',
        id: this.nextId++,
        shared: staged.buffer as SharedArrayBuffer,
        byteOffset: staged.byteOffset,
        length: buffer.length,
        options,
      });
      if (!inPlace) buffer.set(staged);
      return result ?? { elapsedMs: 0, bytesSent: 0 };
    } finally {
      if (staged.buffer === this.shared) this.stagingInUse = false;
    }
  }

  /** `buffer` copied to shared memory: the reused staging area, or a fresh one while that is in use. */
  private stage(buffer: Float32Array): Float32Array {
    let staged: Float32Array;
    if (this.stagingInUse) {
      staged = new Float32Array(new SharedArrayBuffer(buffer.byteLength));
    } else {
      if (this.shared.byteLength < buffer.byteLength) this.shared = new SharedArrayBuffer(buffer.byteLength);
      this.stagingInUse = true;
      staged = new Float32Array(this.shared, 0, buffer.length);
    }
    staged.set(buffer);
    return staged;
  }

  /** Closes the ring in its thread and stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    const closing = this.request({ type: 'close', id: this.nextId++ }).catch(() => undefined);
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.thread.once('exit', () => resolve()));
    await Promise.race([closing.then(() => exited), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await this.thread.terminate();
  }

  private request(message: ToRingThread): Promise<AllReduceResult | undefined> {
    if (this.closed) return Promise.reject(new CollectiveClosedError(message.type));
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.thread.postMessage(message);
    });
  }

  private receive(message: FromRingThread): void {
    if (message.type !== 'done' && message.type !== 'failed') return;
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.type === 'done') waiter.resolve(message.result);
    else waiter.reject(deserializeError(message.error));
  }

  /** The thread died: every waiting call fails, and so does every later one. */
  private lost(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.onLost?.(error);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
