/** Test data and processes of the browser tests: synthetic step reports, free ports, real workers. */
import { spawn, type ChildProcess } from 'child_process';
import { existsSync } from 'fs';
import { createServer, type AddressInfo } from 'net';
import * as path from 'path';
import type { StepMetric, WorkerStepMetric } from '../api/types';

/** The repository root. */
export const REPO = path.resolve(__dirname, '../../../..');

/** A step report with every per-worker field, as the coordinator's step processor stores it. */
export type ReportedStep = StepMetric & { workers: Required<WorkerStepMetric>[] };

/**
 * What three workers would report for `steps` steps: a falling loss, a learning-rate warmup, and
 * rank 2 computing 80 % longer than the others (who wait for it in the all-reduce).
 */
export function stragglerMetrics(steps: number): ReportedStep[] {
  return Array.from({ length: steps }, (_, step) => {
    const loss = 10 * Math.exp(-step / 12) + 1.5;
    return {
      step,
      loss,
      lr: 4e-4 * Math.min(1, (step + 1) / 10),
      tokensPerSecond: 2000 + 10 * step,
      computeMs: 180,
      commMs: 20,
      bytesSent: 1 << 20,
      workers: [0, 1, 2].map((rank) => ({
        workerId: `w${rank}`,
        rank,
        computeMs: rank === 2 ? 180 : 100,
        commMs: rank === 2 ? 20 : 100,
        jobMs: 200,
        bytesSent: 1 << 19,
        loss,
      })),
    };
  });
}

/** A TCP port nobody listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Where a worker finds its coordinator. */
export interface WorkerTarget {
  grpcPort: number;
  clusterSecret: string;
  redisPrefix: string;
}

/**
 * Starts a real training worker (apps/worker/dist/main.js, built by the root build) on loopback;
 * `logLevel` other than warn keeps its (then many) log lines out of the test output.
 */
export function startWorker(id: string, target: WorkerTarget, logLevel = 'warn'): ChildProcess {
  const main = path.join(REPO, 'apps/worker/dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build the worker first (npm run build)`);
  return spawn(process.execPath, [main], {
    env: {
      ...process.env,
      FORGE_WORKER_ID: id,
      FORGE_COORDINATOR_URL: `127.0.0.1:${target.grpcPort}`,
      FORGE_CLUSTER_SECRET: target.clusterSecret,
      FORGE_REDIS_PREFIX: target.redisPrefix,
      FORGE_COLLECTIVE_HOST: '127.0.0.1',
      FORGE_ADVERTISE_HOST: '127.0.0.1',
      FORGE_COLLECTIVE_PORT: '0',
      LOG_LEVEL: logLevel,
    },
    stdio: ['ignore', logLevel === 'warn' ? 'inherit' : 'ignore', 'inherit'],
  });
}

/** Stops a worker and waits for it to exit (SIGKILL after `graceMs`). */
export async function stopWorker(worker: ChildProcess, graceMs = 10_000): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
