/**
 * The thread a {@link ThreadedRingAllReduce} runs its ring in: a RingAllReduce driven by
 * messages, reducing buffers the caller shares with it.
 */
import { parentPort, workerData } from 'worker_threads';
import type { RingAllReduceOptions } from '../options/ring-options';
import { RingAllReduce } from '../ring/ring-all-reduce';
import {
  FromRingThread,
  KERNEL_OPTIONS,
  KernelExport,
  KernelOption,
  RingThreadConfig,
  ToRingThread,
  serializeError,
} from './ring-thread-protocol';

function post(message: FromRingThread): void {
  parentPort?.postMessage(message);
}

function loadKernel(kernel: KernelExport | undefined): unknown {
  if (!kernel) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = (require(kernel.module) as Record<string, unknown>)[kernel.exportName];
  if (typeof loaded !== 'function') {
    throw new Error(`${kernel.module} has no function export '${kernel.exportName}'`);
  }
  return loaded;
}

/** The kernels named in `config`, loaded (the ring validates their type). */
function loadKernels(config: RingThreadConfig): Pick<RingAllReduceOptions, KernelOption> {
  const loaded: Record<string, unknown> = {};
  for (const name of KERNEL_OPTIONS) loaded[name] = loadKernel(config.kernels[name]);
  return loaded as Pick<RingAllReduceOptions, KernelOption>;
}

async function serve(ring: RingAllReduce, message: ToRingThread): Promise<FromRingThread> {
  switch (message.type) {
    case 'connect':
      await ring.connect(message.addresses, message.timeoutMs);
      return { type: 'done', id: message.id };
    case 'reconfigure':
      ring.reconfigure(message.place);
      return { type: 'done', id: message.id };
    case 'all-reduce': {
      const buffer = new Float32Array(message.shared, message.byteOffset, message.length);
      return { type: 'done', id: message.id, result: await ring.allReduce(buffer, message.options) };
    }
    case 'close':
      await ring.close();
      return { type: 'done', id: message.id };
  }
}

async function main(): Promise<void> {
  const config = workerData as RingThreadConfig;
  let ring: RingAllReduce;
  try {
    ring = await RingAllReduce.listen({ ...config.options, ...loadKernels(config) });
  } catch (error) {
    post({ type: 'fatal', error: serializeError(error) });
    return;
  }
  parentPort?.on('message', (message: ToRingThread) => {
    serve(ring, message)
      .then(post, (error: unknown) => post({ type: 'failed', id: message.id, error: serializeError(error) }))
      .finally(() => message.type === 'close' && parentPort?.close());
  });
  post({ type: 'ready', address: ring.address });
}

void main();
