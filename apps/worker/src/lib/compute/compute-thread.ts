/**
 * Entry point of a worker's compute thread. Forward and backward passes are synchronous and block
 * their thread for the whole compute; running them here keeps the main thread's event loop free for
 * BullMQ lock renewals and heartbeats, so a worker computing a long step is never declared stalled.
 */
import { parentPort, workerData } from 'worker_threads';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import type { ComputeThreadConfig, FromCompute, ToCompute } from './compute-messages';
import { startComputeCore } from './compute-core';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('compute-thread.js must run as a worker thread');
  const post = (message: FromCompute) => port.postMessage(message);
  try {
    const backend = await initBackend();
    const core = await startComputeCore(workerData as ComputeThreadConfig, (text, fields) =>
      post({ type: 'log', message: text, fields }),
    );
    port.on('message', (message: ToCompute) => {
      if (message.type === 'close') {
        void core.close().then(() => port.close());
        return;
      }
      if (message.type === 'abort') {
        core.abort(message.jobKey, message.reason);
        return;
      }
      void core
        .run(message.job)
        .then((result) => post({ type: 'result', id: message.id, result, held: core.held() }));
    });
    post({ type: 'ready', port: core.port, backend: backend.name });
  } catch (error) {
    post({ type: 'fatal', error: (error as Error).stack ?? String(error) });
  }
}

void main();
