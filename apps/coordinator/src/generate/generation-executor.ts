/**
 * Where generation runs: {@link ThreadExecutor} (a worker thread, what the built coordinator uses)
 * or {@link InProcessExecutor} (this thread; tests under ts-jest, which cannot start a thread from
 * TypeScript sources). {@link createExecutor} picks the thread whenever its compiled file exists.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { EventQueue } from './event-queue';
import type { GenerationCore } from './generation-core';
import type { FromGenerationThread, GenerationJob, StartFailure, StreamEvent } from './generation-messages';

/** The compiled thread entry, beside this file in dist/. */
export const THREAD_FILE = path.join(__dirname, 'generate-thread.js');

/** A generation that has loaded its model and is streaming. */
export interface ActiveGeneration {
  /** Text pieces as `token` events, then one `done` or `error`; ends after it. */
  readonly events: AsyncIterable<StreamEvent>;
  /** Stops generating after the current token (the client went away). */
  cancel(): void;
  /** Settles once generation has stopped, however it ended. */
  readonly finished: Promise<void>;
}

/** Why {@link GenerationExecutor.start} failed before any token. */
export class StartRejection extends Error {
  override readonly name = 'StartRejection';
  constructor(readonly failure: StartFailure) {
    super(failure.message);
  }
}

/** Runs generations somewhere. */
export interface GenerationExecutor {
  /** `thread` or `in-process`. */
  readonly mode: string;
  /** Loads the job's checkpoint and starts generating; rejects with {@link StartRejection}. */
  start(job: GenerationJob): Promise<ActiveGeneration>;
  /** Stops the thread (if any) and frees the cached models. */
  close(): Promise<void>;
}

/** A thread executor when the compiled thread file exists (the built app), else in-process. */
export function createExecutor(): GenerationExecutor {
  return fs.existsSync(THREAD_FILE) ? new ThreadExecutor() : new InProcessExecutor();
}

const isTerminal = (event: StreamEvent): boolean => event.type !== 'token';
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The in-process side: the core and its error classifier, loaded on first use. */
interface LocalCore {
  core: GenerationCore;
  startFailure(error: unknown): StartFailure;
}

/**
 * Generates in this thread, yielding to the event loop between tokens. libs/gpt and the tensor
 * backend are loaded on the first request, so that the thread executor's process never loads them.
 */
export class InProcessExecutor implements GenerationExecutor {
  readonly mode = 'in-process';
  private local?: Promise<LocalCore>;

  async start(job: GenerationJob): Promise<ActiveGeneration> {
    const { core, startFailure } = await this.ready();
    let prepared;
    try {
      prepared = core.prepare(job);
    } catch (error) {
      throw new StartRejection(startFailure(error));
    }
    const events = new EventQueue<StreamEvent>();
    let cancelled = false;
    const finished = prepared.run(
      (event) => {
        events.push(event);
        if (isTerminal(event)) events.end();
      },
      () => cancelled,
    );
    return { events, finished, cancel: () => (cancelled = true) };
  }

  async close(): Promise<void> {
    (await this.local?.catch(() => undefined))?.core.close();
  }

  /** Starts the tensor backend once (FORGE_BACKEND); a failed start is retried by the next request. */
  private ready(): Promise<LocalCore> {
    this.local ??= (async () => {
      const { initBackend } = await import('@llm-forge/tfjs-backend-native');
      await initBackend();
      const generation = await import('./generation-core');
      return { core: new generation.GenerationCore(), startFailure: generation.startFailure };
    })();
    return this.local.catch((error: unknown) => {
      this.local = undefined;
      throw new StartRejection({ kind: 'internal', message: messageOf(error) });
    });
  }
}

/** A generation the thread was asked for: waiting for its model, or streaming. */
interface Pending {
  events: EventQueue<StreamEvent>;
  started(): void;
  failed(failure: StartFailure): void;
  finish(): void;
  streaming: boolean;
}

/** Generates in one worker thread, started on the first request; a crashed thread is restarted by the next. */
export class ThreadExecutor implements GenerationExecutor {
  readonly mode = 'thread';
  private thread?: Promise<Worker>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  async start(job: GenerationJob): Promise<ActiveGeneration> {
    let thread: Worker;
    try {
      thread = await this.ready();
    } catch (error) {
      throw new StartRejection({ kind: 'internal', message: messageOf(error) });
    }
    const id = this.nextId++;
    const events = new EventQueue<StreamEvent>();
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await new Promise<void>((resolve, reject) => {
      this.pending.set(id, {
        events,
        streaming: false,
        started: resolve,
        failed: (failure) => reject(new StartRejection(failure)),
        finish,
      });
      thread.postMessage({ type: 'start', id, job });
    });
    const cancel = (): void => {
      if (this.pending.has(id)) thread.postMessage({ type: 'cancel', id });
    };
    return { events, finished, cancel };
  }

  async close(): Promise<void> {
    const thread = await this.thread?.catch(() => undefined);
    if (!thread) return;
    thread.postMessage({ type: 'close' });
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([exited, timeout]);
    await thread.terminate();
  }

  private ready(): Promise<Worker> {
    this.thread ??= this.spawn().catch((error: unknown) => {
      this.thread = undefined;
      throw error;
    });
    return this.thread;
  }

  /** Starts the thread and waits until its tensor backend is up. */
  private spawn(): Promise<Worker> {
    const thread = new Worker(THREAD_FILE);
    thread.unref(); // never what keeps the process alive
    return new Promise((resolve, reject) => {
      thread.on('message', (message: FromGenerationThread) => {
        if (message.type === 'ready') resolve(thread);
        else if (message.type === 'fatal') {
          reject(new Error(`the generation thread failed to start: ${message.error}`));
          void thread.terminate();
        } else this.route(message);
      });
      thread.once('error', (error) => {
        reject(error);
        this.lost(`the generation thread crashed: ${error.message}`);
      });
      thread.once('exit', (code) => {
        reject(new Error(`the generation thread exited with code ${code} while starting`));
        this.lost(`the generation thread exited with code ${code}`);
      });
    });
  }

  private route(message: Exclude<FromGenerationThread, { type: 'ready' | 'fatal' }>): void {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === 'started') {
      entry.streaming = true;
      entry.started();
      return;
    }
    if (message.type === 'failed') entry.failed(message.failure);
    else {
      entry.events.push(message.event);
      if (!isTerminal(message.event)) return;
      entry.events.end();
    }
    this.pending.delete(message.id);
    entry.finish();
  }

  /** The thread is gone: every generation in it fails; the next request starts a new thread. */
  private lost(reason: string): void {
    this.thread = undefined;
    for (const entry of this.pending.values()) {
      if (entry.streaming) {
        entry.events.push({ type: 'error', message: reason });
        entry.events.end();
      } else entry.failed({ kind: 'internal', message: reason });
      entry.finish();
    }
    this.pending.clear();
  }
}
