/**
 * Test double of a training worker: registers over the real gRPC control plane, heartbeats, and
 * consumes its BullMQ rank queue with a handler that plays the compute (no tensors), so the
 * coordinator's scheduling, retries and recovery are tested fast and deterministically.
 */
import * as grpc from '@grpc/grpc-js';
import { type Job, Worker } from 'bullmq';
import IORedis from 'ioredis';
import {
  jobAttemptId,
  parseRankJob,
  rankQueueName,
  type FinetuneRankJobData,
  type FinetuneStepReport,
  type RankJobData,
  type RankResult,
} from '@llm-forge/cluster-protocol';
import { coordinatorV1, METADATA_KEYS } from '@llm-forge/proto';
import { bullPrefix } from '../jobs/step-scheduler.service';
import { disconnectNow } from '../redis/redis.service';
import { ControlPlaneServer } from '../workers/control-plane.server';
import { REDIS_URL, TEST_SECRET, type TestApp } from './harness';

/** What a fake rank does with a job. */
export type FakeHandler = (job: RankJobData, worker: FakeWorker) => Promise<RankResult> | RankResult;

/** Steps of a fake finetune: rank 0 reports this length with every step. */
export const FAKE_FINETUNE_STEPS = 2;

/**
 * What rank 0 of a fake finetune reports after step `step` (0-based; the job's first by default) of
 * {@link FAKE_FINETUNE_STEPS}: a logged point each step (with an evaluation after the last), and after
 * the last the model directory and a classification evaluation.
 */
export function fakeFinetuneReport(
  job: FinetuneRankJobData,
  totalSteps = FAKE_FINETUNE_STEPS,
  step = job.step,
): FinetuneStepReport {
  const done = step + 1;
  const last = done === totalSteps;
  return {
    totalSteps,
    epoch: 1,
    trainableParameters: 10,
    totalParameters: 100,
    logged: {
      step: done,
      epoch: 1,
      trainLoss: 1 / done,
      ...(last ? { valLoss: 0.6, valAccuracy: 0.75 } : {}),
    },
    ...(last
      ? {
          modelDir: `${job.outDir}/model`,
          evaluation: {
            labels: ['ham', 'spam'],
            accuracy: { train: 1, validation: 0.75, test: 0.5 },
            confusionMatrix: [
              [1, 1],
              [0, 2],
            ],
            splits: {},
          },
        }
      : {}),
  };
}

/**
 * A successful result with plausible numbers, one report per step of the job: loss falls with the
 * step; a finetune's rank 0 adds {@link fakeFinetuneReport}.
 */
export function fakeSuccess(job: RankJobData, workerId: string): RankResult {
  const batchSize = job.kind === 'run' ? job.spec.batchSize : job.spec.hyperparameters.batchSize;
  const steps = [];
  for (let step = job.step; step < job.endStep; step++) {
    steps.push({
      step,
      loss: 10 / (step + 1),
      localLoss: 10 / (step + 1),
      tokens: batchSize * 16,
      lr: 1e-3,
      gradNorm: 1,
      computeMs: 1,
      commMs: 1,
      bytesSent: 100,
      verified: false,
      ...(job.kind === 'finetune' && job.rank === 0
        ? { finetune: fakeFinetuneReport(job, FAKE_FINETUNE_STEPS, step) }
        : {}),
    });
  }
  return {
    ok: true,
    workerId,
    rank: job.rank,
    step: job.step,
    appliedSteps: job.endStep,
    jobMs: 2 * steps.length,
    steps,
  };
}

/** A fake worker process. */
export class FakeWorker {
  readonly jobs: RankJobData[] = [];
  /** Abort reasons the coordinator answered heartbeats with. */
  readonly aborts: string[] = [];
  /** Log lines its next heartbeat carries. */
  readonly logLines: string[] = [];
  /** The job attempt whose rank job runs now (reported in heartbeats). */
  runningJob = '';
  private readonly address = `127.0.0.1:${40000 + Math.floor(Math.random() * 1000)}`;
  /** Steps the fake replica has applied, per run (what heartbeats report). */
  held?: { jobId: string; appliedSteps: number };
  private client: coordinatorV1.CoordinatorServiceClient;
  private metadata = new grpc.Metadata();
  private sessionId = '';
  private timer?: NodeJS.Timeout;
  /** Set once it left or was killed: a heartbeat still in flight must not register it again. */
  private gone = false;
  private bull?: Worker;
  private connection?: IORedis;

  constructor(
    readonly id: string,
    grpcPort: number,
    private readonly redisPrefix: string,
    private handler: FakeHandler = (job, w) => fakeSuccess(job, w.id),
  ) {
    this.client = new coordinatorV1.CoordinatorServiceClient(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    this.metadata.set(METADATA_KEYS.secret, TEST_SECRET);
  }

  /** Registers, starts heartbeating every `heartbeatMs` and consuming its queue. */
  async start(heartbeatMs = 100): Promise<void> {
    await this.register();
    this.timer = setInterval(() => this.beat(), heartbeatMs);
    this.connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    this.bull = new Worker(rankQueueName(this.id), (job: Job) => this.process(job), {
      connection: this.connection,
      prefix: bullPrefix(this.redisPrefix),
      // The coordinator judges workers by heartbeats, not by stalled jobs; and a worker closed while
      // BullMQ's first stalled check runs keeps its 30 s timer alive (taskforcesh/bullmq#1810),
      // holding Jest open after the tests.
      skipStalledCheck: true,
    });
    // e.g. a job's keys gone with a Redis that lost its data; the real worker logs these.
    this.bull.on('error', () => undefined);
  }

  /** Registers (again), as a worker does at start and when the coordinator forgot its session. */
  async register(): Promise<void> {
    const res = await new Promise<coordinatorV1.RegisterWorkerResponse>((resolve, reject) =>
      this.client.registerWorker(
        { workerId: this.id, collectiveAddress: this.address, pid: process.pid },
        this.metadata,
        (err, r) => (err ? reject(err) : resolve(r)),
      ),
    );
    this.sessionId = res.sessionId;
  }

  /**
   * Waits until the coordinator has told this worker to stop its job attempt, as a running rank
   * does between steps; resolves with the first reason, or undefined after `timeoutMs`.
   */
  async untilAborted(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.aborts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.aborts[0];
  }

  /** A handler for a step that runs until told to stop (a long final evaluation), then fails as transient. */
  static untilAbortedThenFail: FakeHandler = async (job, worker) => ({
    ok: false,
    workerId: worker.id,
    rank: job.rank,
    step: job.step,
    appliedSteps: job.step + 1,
    kind: 'transient',
    error: (await worker.untilAborted()) ?? 'no abort within 10 s',
  });

  /** The finetune rank jobs this worker took. */
  get finetunes(): FinetuneRankJobData[] {
    return this.jobs.filter((j): j is FinetuneRankJobData => j.kind === 'finetune');
  }

  /** Replaces the handler (e.g. to fail the next job). */
  handle(handler: FakeHandler): void {
    this.handler = handler;
  }

  /** Stops as a worker shut down cleanly does: stops consuming, then a last heartbeat saying it leaves. */
  async leave(): Promise<void> {
    this.gone = true;
    clearInterval(this.timer);
    await this.bull?.close();
    await new Promise<void>((resolve, reject) =>
      this.client.heartbeat(this.heartbeatRequest(true), this.metadata, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    if (this.connection) disconnectNow(this.connection);
    this.client.close();
  }

  /** Stops heartbeating and consuming, as a killed process would (its job stays unfinished). */
  async kill(): Promise<void> {
    this.gone = true;
    clearInterval(this.timer);
    await this.bull?.close(true);
    if (this.connection) disconnectNow(this.connection);
    this.client.close();
  }

  /** What its heartbeats report, as a worker's do; `leaving` on the last one. */
  private heartbeatRequest(leaving: boolean): coordinatorV1.HeartbeatRequest {
    return {
      workerId: this.id,
      sessionId: this.sessionId,
      lastCompletedStep: 0,
      heldJobId: this.held?.jobId ?? '',
      appliedSteps: this.held?.appliedSteps ?? 0,
      runningJob: this.runningJob,
      leaving,
      cpuPercent: 12.5,
      rssBytes: 100_000_000,
      logLines: this.logLines.splice(0),
    };
  }

  private beat(): void {
    this.client.heartbeat(this.heartbeatRequest(false), this.metadata, (err, res) => {
      if (err?.code === grpc.status.NOT_FOUND && !this.gone) void this.register().catch(() => undefined);
      else if (!err && res.abortReason) this.aborts.push(res.abortReason);
    });
  }

  private async process(job: Job): Promise<RankResult> {
    const data = parseRankJob(job.data);
    this.jobs.push(data);
    this.runningJob = jobAttemptId(data.jobId, data.attempt);
    try {
      const result = await this.handler(data, this);
      if (result.ok) this.held = { jobId: data.jobId, appliedSteps: result.appliedSteps };
      return result;
    } finally {
      this.runningJob = '';
    }
  }
}

/**
 * Stand-in workers for a spec using {@link useTestApp}: `start(...ids)` registers them with the
 * test's app; each test's workers are killed after it.
 */
export function useFakeWorkers(ctx: TestApp): {
  start(...ids: string[]): Promise<FakeWorker[]>;
  list: FakeWorker[];
} {
  const list: FakeWorker[] = [];
  afterEach(async () => {
    await Promise.all(list.splice(0).map((w) => w.kill()));
  });
  return {
    list,
    async start(...ids) {
      const port = ctx.built!.app.get(ControlPlaneServer).port;
      const started = ids.map((id) => new FakeWorker(id, port, ctx.prefix));
      await Promise.all(started.map((w) => w.start()));
      list.push(...started);
      return started;
    },
  };
}
