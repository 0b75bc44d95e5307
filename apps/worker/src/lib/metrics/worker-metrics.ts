/** Prometheus metrics of a worker (prom-client), served at `/metrics` on FORGE_METRICS_PORT. */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RankFailure, RankSuccess } from '@llm-forge/cluster-protocol';

/** The worker's metrics and the HTTP endpoint that exposes them. */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly steps = new Counter({
    name: 'forge_worker_steps_total',
    help: 'Optimizer steps this worker completed',
    registers: [this.registry],
  });
  private readonly failures = new Counter({
    name: 'forge_worker_step_failures_total',
    help: 'Rank jobs that failed, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly loss = new Gauge({
    name: 'forge_worker_loss',
    help: "Training loss of the last step (DiLoCo's inner steps: this rank's own)",
    registers: [this.registry],
  });
  private readonly tokensPerSecond = new Gauge({
    name: 'forge_worker_tokens_per_second',
    help: "Tokens of the global batch per second of this rank's last step",
    registers: [this.registry],
  });
  private readonly stepSeconds = new Histogram({
    name: 'forge_worker_step_seconds',
    help: "Wall time of a step, by phase (compute, allreduce, total: the rank job's time per step)",
    labelNames: ['phase'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly bytesSent = new Counter({
    name: 'forge_worker_allreduce_bytes_total',
    help: 'Bytes this worker sent on the all-reduce wire',
    registers: [this.registry],
  });
  private server?: http.Server;

  constructor(labels: { worker: string }) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records a successful job's steps (its wall time shared evenly by them). */
  observeJob(result: RankSuccess): void {
    const { steps, jobMs } = result;
    const stepMs = jobMs / steps.length;
    for (const step of steps) {
      this.steps.inc();
      this.stepSeconds.observe({ phase: 'compute' }, step.computeMs / 1000);
      this.stepSeconds.observe({ phase: 'allreduce' }, step.commMs / 1000);
      this.stepSeconds.observe({ phase: 'total' }, stepMs / 1000);
      this.bytesSent.inc(step.bytesSent);
    }
    const last = steps[steps.length - 1];
    this.loss.set(last.loss);
    this.tokensPerSecond.set(steps.reduce((n, s) => n + s.tokens, 0) / (jobMs / 1000));
  }

  /** Records a failed step. */
  observeFailure(result: RankFailure): void {
    this.failures.inc({ kind: result.kind });
  }

  /** Serves `/metrics` on `port` (0: a free one); resolves to the bound port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found: the worker serves /metrics only\n');
        return;
      }
      this.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text))
        .catch((err: Error) => res.writeHead(500).end(err.message));
    });
    await new Promise<void>((resolve) => this.server?.listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
