/**
 * Entry point of the coordinator's generation thread. A forward pass is synchronous and blocks its
 * thread; running generation here keeps the coordinator's event loop free for BullMQ, gRPC
 * heartbeats and HTTP. Several generations interleave here token by token.
 */
import { parentPort } from 'worker_threads';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { GenerationCore, startFailure } from './generation-core';
import type { FromGenerationThread, GenerationJob, ToGenerationThread } from './generation-messages';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('generate-thread.js must run as a worker thread');
  const post = (message: FromGenerationThread): void => port.postMessage(message);
  try {
    const backend = await initBackend();
    const core = new GenerationCore();
    const running = new Map<number, { cancelled: boolean }>();
    const start = (id: number, job: GenerationJob): void => {
      let prepared;
      try {
        prepared = core.prepare(job);
      } catch (error) {
        post({ type: 'failed', id, failure: startFailure(error) });
        return;
      }
      const state = { cancelled: false };
      running.set(id, state);
      post({ type: 'started', id });
      void prepared
        .run(
          (event) => post({ type: 'event', id, event }),
          () => state.cancelled,
        )
        .finally(() => running.delete(id));
    };
    port.on('message', (message: ToGenerationThread) => {
      if (message.type === 'start') start(message.id, message.job);
      else if (message.type === 'cancel') {
        const state = running.get(message.id);
        if (state) state.cancelled = true;
      } else {
        core.close();
        port.close();
      }
    });
    post({ type: 'ready', backend: backend.name });
  } catch (error) {
    post({ type: 'fatal', error: (error as Error).stack ?? String(error) });
  }
}

void main();
