/**
 * A worker process: registers with the coordinator (gRPC control plane), heartbeats, and takes its
 * rank jobs from its own BullMQ queue, handing each to the compute side (a worker thread), so this
 * thread stays free for lock renewals and heartbeats however long a step computes.
 */
import * as os from 'os';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  jobAttemptId,
  parseRankJob,
  rankQueueName,
  type RankJobData,
  type RankResult,
} from '@llm-forge/cluster-protocol';
import { coordinatorV1 } from '@llm-forge/proto';
import type { StepExecutor } from './compute/step-executor';
import type { WorkerConfig } from './config/worker-config';
import { CoordinatorClient, isUnknownSession } from './control/coordinator-client';
import type { LogTail } from './logging/log-tail';
import type { WorkerMetrics } from './metrics/worker-metrics';

/** How long to wait between registration attempts while the coordinator is unreachable. */
const REGISTER_RETRY_MS = 1000;

/** A running worker. */
export class WorkerProcess {
  private readonly client: CoordinatorClient;
  private sessionId = '';
  private heartbeatTimer?: NodeJS.Timeout;
  private bullWorker?: Worker<unknown, RankResult>;
  /**
   * The job attempt whose rank job runs now (`jobAttemptId`: `<jobId>.a<attempt>`), reported in
   * heartbeats so that the coordinator can stop an attempt it cancelled, paused or superseded: between
   * a DiLoCo job's inner steps, or during a finetune's long final evaluation.
   */
  private runningJob = '';
  private connection?: Redis;
  private stopped = false;
  private lastCompletedStep = 0;
  /** CPU usage at the last heartbeat, for the next one's percentage. */
  private lastUsage?: { at: number; usage: NodeJS.CpuUsage };

  constructor(
    readonly config: WorkerConfig,
    private readonly executor: StepExecutor,
    private readonly log: Logger,
    private readonly metrics?: WorkerMetrics,
    /** The log lines its heartbeats carry to the coordinator. */
    private readonly logTail?: LogTail,
  ) {
    this.client = new CoordinatorClient(config.coordinatorUrl, config.secret);
  }

  /** host:port peers reach this worker's collective server at. */
  get collectiveAddress(): string {
    return `${this.config.advertiseHost}:${this.executor.port}`;
  }

  /** Registers (retrying until the coordinator answers), then heartbeats and consumes rank jobs. */
  async start(): Promise<void> {
    await this.register();
    this.connection = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    this.connection.on('error', (err) => this.log.warn({ err: err.message }, 'redis connection error'));
    this.bullWorker = new Worker<unknown, RankResult>(
      rankQueueName(this.config.workerId),
      (job) => this.process(job),
      {
        connection: this.connection,
        prefix: `${this.config.redisPrefix}bull`,
        concurrency: 1,
        // The main thread only waits on the compute thread, so locks renew on time.
        lockDuration: 30_000,
      },
    );
    this.bullWorker.on('error', (err) => this.log.warn({ err: err.message }, 'bullmq worker error'));
    this.log.info(
      { workerId: this.config.workerId, address: this.collectiveAddress, backend: this.executor.backend },
      'worker ready',
    );
  }

  /** Stops taking jobs (waiting for the current one), stops heartbeating and closes everything. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.heartbeatTimer);
    await this.bullWorker?.close();
    await this.leave();
    await this.executor.close();
    this.client.close();
    this.connection?.disconnect();
  }

  private async process(job: Job): Promise<RankResult> {
    let data: RankJobData;
    try {
      data = parseRankJob(job.data);
    } catch (error) {
      this.log.error({ jobId: job.id, err: (error as Error).message }, 'refused a rank job');
      return invalidJobResult(this.config.workerId, job.data, (error as Error).message);
    }
    const log = this.log.child({
      [data.kind === 'run' ? 'runId' : 'finetuneId']: data.jobId,
      step: data.step,
      attempt: data.attempt,
      rank: data.rank,
    });
    log.debug('step started');
    this.executor.onLog = (message, fields) => log.info(fields ?? {}, message);
    this.runningJob = jobAttemptId(data.jobId, data.attempt);
    let result: RankResult;
    try {
      result = await this.executor.run(data);
    } finally {
      this.runningJob = '';
    }
    if (result.ok) {
      const last = result.steps[result.steps.length - 1];
      this.lastCompletedStep = last.step;
      this.metrics?.observeJob(result);
      const sum = (field: 'computeMs' | 'commMs') =>
        Math.round(result.steps.reduce((n, s) => n + s[field], 0));
      log.info(
        { steps: result.steps.length, loss: last.loss, computeMs: sum('computeMs'), commMs: sum('commMs') },
        result.steps.length === 1 ? 'step done' : 'steps done',
      );
    } else {
      this.metrics?.observeFailure(result);
      log.warn({ kind: result.kind, err: result.error, file: result.file }, 'step failed');
    }
    return result;
  }

  private async register(): Promise<void> {
    const request: coordinatorV1.RegisterWorkerRequest = {
      workerId: this.config.workerId,
      collectiveAddress: this.collectiveAddress,
      pid: process.pid,
      capabilities: {
        hostname: os.hostname(),
        cpuCores: os.cpus().length,
        memoryBytes: os.totalmem(),
        backends: [this.executor.backend],
        wireDtypes: [coordinatorV1.WireDType.WIRE_DTYPE_F32, coordinatorV1.WireDType.WIRE_DTYPE_BF16],
        version: WORKER_VERSION,
      },
    };
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const res = await this.client.register(request);
        this.sessionId = res.sessionId;
        this.scheduleHeartbeat(res.heartbeatIntervalMs || 1000);
        this.log.info({ coordinator: this.config.coordinatorUrl, sessionId: res.sessionId }, 'registered');
        return;
      } catch (error) {
        if (attempt % 10 === 0) {
          this.log.warn(
            { coordinator: this.config.coordinatorUrl, err: (error as Error).message },
            'coordinator unreachable; retrying registration',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, REGISTER_RETRY_MS));
      }
    }
  }

  /** Tells the coordinator this worker is gone (best effort: otherwise its heartbeats go stale). */
  private async leave(): Promise<void> {
    if (!this.sessionId) return;
    try {
      await this.client.heartbeat(this.heartbeatRequest(true));
    } catch (error) {
      this.log.warn(
        { err: (error as Error).message },
        'could not tell the coordinator that this worker leaves',
      );
    }
  }

  /** What a heartbeat reports: this worker, what it holds and runs, its CPU and memory; `leaving` on the last one. */
  private heartbeatRequest(leaving: boolean): coordinatorV1.HeartbeatRequest {
    const held = this.executor.held();
    return {
      ...this.resources(),
      logLines: this.logTail?.take() ?? [],
      workerId: this.config.workerId,
      sessionId: this.sessionId,
      lastCompletedStep: this.lastCompletedStep,
      heldJobId: held?.jobId ?? '',
      appliedSteps: held?.appliedSteps ?? 0,
      runningJob: this.runningJob,
      leaving,
    };
  }

  /** CPU time since the last heartbeat (every thread of the process), in percent of one core; RSS. */
  private resources(): { cpuPercent: number; rssBytes: number } {
    const now = performance.now();
    const usage = process.cpuUsage();
    const last = this.lastUsage;
    this.lastUsage = { at: now, usage };
    const cpuMicros = last ? usage.user + usage.system - last.usage.user - last.usage.system : 0;
    const cpuPercent = last && now > last.at ? (cpuMicros / 1000 / (now - last.at)) * 100 : 0;
    return { cpuPercent: Math.round(cpuPercent * 10) / 10, rssBytes: process.memoryUsage.rss() };
  }

  private scheduleHeartbeat(intervalMs: number): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(intervalMs), intervalMs);
  }

  private async heartbeat(intervalMs: number): Promise<void> {
    if (this.stopped) return;
    const request = this.heartbeatRequest(false);
    const runningJob = request.runningJob;
    try {
      const answer = await this.client.heartbeat(request);
      if (runningJob && answer.abortReason) {
        this.log.warn(
          { job: runningJob, reason: answer.abortReason },
          'job attempt aborted by the coordinator',
        );
        this.executor.abort(runningJob, answer.abortReason);
      }
    } catch (error) {
      if (isUnknownSession(error)) {
        this.log.warn('the coordinator does not know this worker (it lost its state): registering again');
        await this.register();
        return;
      }
      this.log.warn({ err: (error as Error).message }, 'heartbeat failed');
    }
    this.scheduleHeartbeat(intervalMs);
  }
}

/** Version this worker reports at registration. */
export const WORKER_VERSION = '0.1.0';

function invalidJobResult(workerId: string, data: unknown, error: string): RankResult {
  const fields = (data ?? {}) as Record<string, unknown>;
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : 0);
  return {
    ok: false,
    workerId,
    rank: int(fields.rank),
    step: int(fields.step),
    appliedSteps: null,
    kind: 'fatal',
    error,
  };
}
