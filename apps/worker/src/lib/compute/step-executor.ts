/**
 * How the main thread hands rank jobs to the compute side: {@link ThreadExecutor} (a worker thread,
 * what `main.ts` uses) or {@link InProcessExecutor} (same thread; tests under ts-jest, which cannot
 * start a thread from TypeScript sources).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type {
  FinetuneRankJobData,
  FinetuneResult,
  RankJobData,
  RankResult,
} from '@llm-forge/cluster-protocol';
import type { FinetuneJobHooks } from '../finetune/finetune-runner';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import type { ComputeThreadConfig, FromCompute } from './compute-messages';
import { startComputeCore, type ComputeCore } from './compute-core';

/** Runs rank jobs on the compute side. */
export interface StepExecutor {
  /** Port of the collective server. */
  readonly port: number;
  /** Name of the tensor backend in use. */
  readonly backend: string;
  /** Runs one rank job. */
  run(job: RankJobData): Promise<RankResult>;
  /** Runs one rank's share of a finetune attempt. */
  runFinetune(job: FinetuneRankJobData, hooks?: FinetuneJobHooks): Promise<FinetuneResult>;
  /** Stops the finetune job `jobId` (`<finetuneId>.a<attempt>`) before its next step. */
  abortFinetune(jobId: string, reason: string): void;
  /** The replica held in memory after the last job. */
  held(): { runId: string; appliedSteps: number } | undefined;
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

  /** Initialises the backend (FORGE_BACKEND) and opens the collective server. */
  static async start(config: ComputeThreadConfig): Promise<InProcessExecutor> {
    const backend = await initBackend();
    return new InProcessExecutor(await startComputeCore(config), backend.name);
  }

  get port(): number {
    return this.core.port;
  }

  run(job: RankJobData): Promise<RankResult> {
    return this.core.run(job);
  }

  runFinetune(job: FinetuneRankJobData, hooks?: FinetuneJobHooks): Promise<FinetuneResult> {
    return this.core.runFinetune(job, hooks);
  }

  abortFinetune(jobId: string, reason: string): void {
    this.core.abortFinetune(jobId, reason);
  }

  held(): { runId: string; appliedSteps: number } | undefined {
    return this.core.held();
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

/** Runs the compute side in a worker thread (compute-thread.js next to this file). */
export class ThreadExecutor implements StepExecutor {
  onFatal?: (error: Error) => void;
  private readonly pending = new Map<number, (result: RankResult) => void>();
  private readonly finetunes = new Map<
    number,
    { hooks: FinetuneJobHooks; resolve: (result: FinetuneResult) => void }
  >();
  private nextId = 0;
  private lastHeld?: { runId: string; appliedSteps: number };
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

  runFinetune(job: FinetuneRankJobData, hooks: FinetuneJobHooks = {}): Promise<FinetuneResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.finetunes.set(id, { hooks, resolve });
      this.thread.postMessage({ type: 'finetune', id, job });
    });
  }

  abortFinetune(jobId: string, reason: string): void {
    this.thread.postMessage({ type: 'abort-finetune', jobId, reason });
  }

  private receive(message: FromCompute): void {
    switch (message.type) {
      case 'result':
        this.lastHeld = message.held;
        this.pending.get(message.id)?.(message.result);
        this.pending.delete(message.id);
        break;
      case 'finetune-progress':
        this.finetunes.get(message.id)?.hooks.onProgress?.(message.progress);
        break;
      case 'finetune-result':
        this.lastHeld = undefined; // a finetune releases the pretraining replica
        this.finetunes.get(message.id)?.resolve(message.result);
        this.finetunes.delete(message.id);
        break;
      case 'log':
        for (const { hooks } of this.finetunes.values()) hooks.log?.(message.message, message.fields);
        break;
    }
  }

  held(): { runId: string; appliedSteps: number } | undefined {
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
