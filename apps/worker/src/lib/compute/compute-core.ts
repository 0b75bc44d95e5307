/**
 * The compute side of a worker, the same in a worker thread (production) and in-process (tests):
 * the tensor backend, the collective server and the {@link TrainingSession}.
 */
import {
  RingAllReduce,
  ThreadedRingAllReduce,
  type AllReduceRing,
  type KernelExports,
} from '@llm-forge/collective';
import * as nativeBackend from '@llm-forge/tfjs-backend-native';
import type { RankJobData, RankResult } from '@llm-forge/cluster-protocol';
import { TrainingSession } from '../session/training-session';
import type { ComputeThreadConfig } from './compute-messages';

/** The native addon's kernel for every kernel of the ring (a missing one fails to compile). */
const NATIVE_RING_KERNELS: Record<keyof KernelExports, keyof typeof nativeBackend> =
  nativeBackend.RING_KERNEL_EXPORTS;

/** {@link NATIVE_RING_KERNELS} as module exports, for a ring on its own thread. */
function nativeRingKernelExports(): KernelExports {
  // The module the collective thread loads its kernels from (it must not load TensorFlow.js).
  const module = nativeBackend.RING_KERNEL_MODULE;
  const entries = Object.entries(NATIVE_RING_KERNELS).map(([option, exportName]) => [
    option,
    { module, exportName },
  ]);
  return Object.fromEntries(entries) as KernelExports;
}

/** A started compute side. */
export interface ComputeCore {
  /** Port the collective server listens on. */
  port: number;
  /** Runs one rank job (of a run or a finetune). */
  run(job: RankJobData): Promise<RankResult>;
  /** Stops the job attempt `jobKey` (its `jobAttemptId`) at its next check. */
  abort(jobKey: string, reason: string): void;
  /** The replica held in memory. */
  held(): { jobId: string; appliedSteps: number } | undefined;
  close(): Promise<void>;
}

/** Opens the collective server; the tensor backend must be initialised already. */
export async function startComputeCore(
  config: ComputeThreadConfig,
  log?: (message: string, fields?: Record<string, unknown>) => void,
): Promise<ComputeCore> {
  // rank 0 of 1 until the first job places it in a ring generation.
  const options = {
    rank: 0,
    worldSize: 1,
    secret: config.secret,
    host: config.bindHost,
    port: config.port,
    timeoutMs: config.collectiveTimeoutMs,
  };
  const native = nativeBackend.nativeAddonStatus().loaded;
  // The ring on a thread of its own (compiled builds): its gRPC buffers then never trigger
  // collections of this thread's large TensorFlow.js heap. Its kernels are the addon's when the
  // native backend is here (10-20x the JavaScript loops).
  const ring: AllReduceRing = ThreadedRingAllReduce.available()
    ? await ThreadedRingAllReduce.listen({ ...options, ...(native ? nativeRingKernelExports() : {}) })
    : await RingAllReduce.listen({ ...options, ...(native ? nativeBackend.ringKernels() : {}) });
  if (ring instanceof ThreadedRingAllReduce) {
    // Without its ring a worker is useless: fail the compute thread, so the process exits and restarts.
    ring.onLost = (error) =>
      process.nextTick(() => {
        throw new Error(`the collective thread was lost: ${error.message}`);
      });
  }
  const session = new TrainingSession(config.workerId, ring, log);
  return {
    port: Number(ring.address.split(':').pop()),
    run: (job) => session.run(job),
    abort: (jobKey, reason) => session.abort(jobKey, reason),
    held: () => session.held(),
    close: async () => {
      session.release();
      await ring.close();
    },
  };
}
