#!/usr/bin/env node
/**
 * Entry point of a training worker: reads the environment (see README), starts the compute thread,
 * registers with the coordinator and takes rank jobs until SIGTERM/SIGINT.
 */
import pino from 'pino';
import { LogTail } from './lib/logging/log-tail';
import { ThreadExecutor } from './lib/compute/step-executor';
import { loadWorkerConfig } from './lib/config/worker-config';
import { WorkerMetrics } from './lib/metrics/worker-metrics';
import { WorkerProcess } from './lib/worker-process';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  // Stdout for the operator, and a tail that the heartbeats send to the coordinator (GET /workers/:id/logs).
  const tail = new LogTail();
  const log = pino(
    { level: config.logLevel, base: { service: 'forge-worker', workerId: config.workerId } },
    pino.multistream([{ stream: process.stdout }, { stream: tail }]),
  );
  const executor = await ThreadExecutor.start({
    workerId: config.workerId,
    bindHost: config.bindHost,
    port: config.collectivePort,
    secret: config.secret,
    collectiveTimeoutMs: config.collectiveTimeoutMs,
  });
  const metrics =
    config.metricsPort === undefined ? undefined : new WorkerMetrics({ worker: config.workerId });
  if (metrics && config.metricsPort !== undefined) {
    const port = await metrics.listen(config.metricsPort);
    log.info({ port }, 'metrics at /metrics');
  }
  const worker = new WorkerProcess(config, executor, log, metrics, tail);
  executor.onFatal = (error) => {
    log.fatal({ err: error.message }, 'the compute thread died; exiting so the worker is restarted');
    process.exit(1);
  };
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info({ signal }, 'stopping after the current step');
    void Promise.all([worker.stop(), metrics?.close()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await worker.start();
}

main().catch((error: Error) => {
  process.stderr.write(`forge-worker: ${error.message}\n`);
  process.exit(1);
});
