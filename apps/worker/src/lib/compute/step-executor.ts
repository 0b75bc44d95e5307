/**
 * How the main thread hands rank jobs to the compute side: {@link ThreadExecutor} (a worker thread,
 * what `main.ts` uses) or {@link InProcessExecutor} (same thread; tests under ts-jest, which cannot
 * start a thread from TypeScript sources).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { RankJobData, RankResult } from '@llm-forge/cluster-protocol';
import { initBackend, tuneProcessMalloc } from '@llm-forge/tfjs-backend-native';
import type { ComputeThreadConfig, FromCompute } from './compute-messages';
import { startComputeCore, type ComputeCore } from './compute-core';

/** Runs rank jobs on the compute side. */
export interface StepExecutor {
  /** Port of the collective server. */
  readonly port: number;
  /** Name of the tensor backend in use. */
  readonly backend: string;
  /** Runs one rank job (of a run or a finetune). */
  run(job: RankJobData): Promise<RankResult>;
  /** Stops the job attempt `jobKey` (`<jobId>.a<attempt>`, its `jobAttemptId`) at its next check. */
  abort(jobKey: string, reason: string): void;
  /** Where the compute side's log lines go (a finetune's final evaluation reports its progress). */
  onLog?: (message: string, fields?: Record<string, unknown>) => void;
  /** The replica held in memory after the last job. */
  held(): { jobId: string; appliedSteps: number } | undefined;
  /** Called when the compute side died (thread crash); the worker must exit. */
  onFatal?: (error: Error) => void;
  close(): Promise<void>;
}

/** Runs the compute side in this thread. */
export class InProcessExecutor implements StepExecutor {
  private constructor(
    private readonly core: ComputeCore,
    readonly backend: string,
  ) {}

  onLog?: (message: string, fields?: Record<string, unknown>) => void;

  /** Initialises the backend (FORGE_BACKEND) and opens the collective server. */
  static async start(config: ComputeThreadConfig): Promise<InProcessExecutor> {
    const backend = await initBackend();
    let executor: InProcessExecutor | undefined = undefined;
    const core = await startComputeCore(config, (message, fields) => executor?.onLog?.(message, fields));
    executor = new InProcessExecutor(core, backend.name);
    return executor;
  }

  get port(): number {
    return this.core.port;
  }

  run(job: RankJobData): Promise<RankResult> {
    return this.core.run(job);
  }

  abort(jobKey: string, reason: string): void {
    this.core.abort(jobKey, reason);
  }

  held(): { jobId: string; appliedSteps: number } | undefined {
    return this.core.held();
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

/** Runs the compute side in a worker thread (compute-thread.js next to this file). */
export class ThreadExecutor implements StepExecutor {
  onFatal?: (error: Error) => void;
  onLog?: (message: string, fields?: Record<string, unknown>) => void;
  private readonly pending = new Map<number, (result: RankResult) => void>();
  private nextId = 0;
  private lastHeld?: { jobId: string; appliedSteps: number };
  private closing = false;

  private constructor(
    private readonly thread: Worker,
    readonly port: number,
    readonly backend: string,
  ) {
    thread.on('message', (message: FromCompute) => this.receive(message));
    thread.on('error', (error) => this.onFatal?.(error));
    thread.on('exit', (code) => {
      if (!this.closing) this.onFatal?.(new Error(`the compute thread exited with code ${code}`));
    });
  }

  /** Starts the thread and waits until its backend and collective server are up. */
  static async start(config: ComputeThreadConfig): Promise<ThreadExecutor> {
    // Before the thread exists, so that it allocates from the main arena: a thread's own arena
    // returns each step's freed tensors to the system, and training ran 1.57x slower on it.
    tuneProcessMalloc();
    const thread = new Worker(path.join(__dirname, 'compute-thread.js'), { workerData: config });
    const ready = await new Promise<{ port: number; backend: string }>((resolve, reject) => {
      const onMessage = (message: FromCompute) => {
        if (message.type === 'ready') resolve(message);
        if (message.type === 'fatal')
          reject(new Error(`the compute thread failed to start: ${message.error}`));
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
      thread.once('exit', (code) =>
        reject(new Error(`the compute thread exited with code ${code} while starting`)),
      );
    });
    return new ThreadExecutor(thread, ready.port, ready.backend);
  }

  run(job: RankJobData): Promise<RankResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.thread.postMessage({ type: 'job', id, job });
    });
  }

  abort(jobKey: string, reason: string): void {
    this.thread.postMessage({ type: 'abort', jobKey, reason });
  }

  private receive(message: FromCompute): void {
    switch (message.type) {
      case 'result':
        this.lastHeld = message.held;
        this.pending.get(message.id)?.(message.result);
        this.pending.delete(message.id);
        break;
      case 'log':
        this.onLog?.(message.message, message.fields);
        break;
    }
  }

  held(): { jobId: string; appliedSteps: number } | undefined {
    return this.lastHeld;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.thread.postMessage({ type: 'close' });
    const exited = new Promise<void>((resolve) => this.thread.once('exit', () => resolve()));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
    await Promise.race([exited, timeout]);
    await this.thread.terminate();
  }
}
