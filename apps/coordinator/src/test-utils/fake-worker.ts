/**
 * Test double of a training worker: registers over the real gRPC control plane, heartbeats, and
 * consumes its BullMQ rank queue with a handler that plays the compute (no tensors), so the
 * coordinator's scheduling, retries and recovery are tested fast and deterministically.
 */
import * as grpc from '@grpc/grpc-js';
import { type Job, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { parseRankJob, rankQueueName, type RankJobData, type RankResult } from '@llm-forge/cluster-protocol';
import { coordinatorV1, METADATA_KEYS } from '@llm-forge/proto';
import { bullPrefix } from '../runs/step-scheduler.service';
import { REDIS_URL, TEST_SECRET } from './harness';

/** What a fake rank does with a job. */
export type FakeHandler = (job: RankJobData, worker: FakeWorker) => Promise<RankResult> | RankResult;

/** A successful result with plausible numbers: loss falls with the step. */
export function fakeSuccess(job: RankJobData, workerId: string): RankResult {
  return {
    ok: true,
    workerId,
    rank: job.rank,
    step: job.step,
    appliedSteps: job.step + 1,
    loss: 10 / (job.step + 1),
    localLoss: 10 / (job.step + 1),
    tokens: job.spec.batchSize * 16,
    lr: 1e-3,
    gradNorm: 1,
    computeMs: 1,
    commMs: 1,
    bytesSent: 100,
    jobMs: 2,
    verified: false,
  };
}

/** A fake worker process. */
export class FakeWorker {
  readonly jobs: RankJobData[] = [];
  /** Steps the fake replica has applied, per run (what heartbeats report). */
  held?: { runId: string; appliedSteps: number };
  private client: coordinatorV1.CoordinatorServiceClient;
  private metadata = new grpc.Metadata();
  private sessionId = '';
  private timer?: NodeJS.Timeout;
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
    const res = await new Promise<coordinatorV1.RegisterWorkerResponse>((resolve, reject) =>
      this.client.registerWorker(
        {
          workerId: this.id,
          collectiveAddress: `127.0.0.1:${40000 + Math.floor(Math.random() * 1000)}`,
          pid: process.pid,
        },
        this.metadata,
        (err, r) => (err ? reject(err) : resolve(r)),
      ),
    );
    this.sessionId = res.sessionId;
    this.timer = setInterval(() => this.beat(), heartbeatMs);
    this.connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    this.bull = new Worker(rankQueueName(this.id), (job: Job) => this.process(job), {
      connection: this.connection,
      prefix: bullPrefix(this.redisPrefix),
    });
  }

  /** Replaces the handler (e.g. to fail the next job). */
  handle(handler: FakeHandler): void {
    this.handler = handler;
  }

  /** Stops heartbeating and consuming, as a killed process would (its job stays unfinished). */
  async kill(): Promise<void> {
    clearInterval(this.timer);
    await this.bull?.close(true);
    this.connection?.disconnect();
    this.client.close();
  }

  private beat(): void {
    this.client.heartbeat(
      {
        workerId: this.id,
        sessionId: this.sessionId,
        lastCompletedStep: 0,
        heldRunId: this.held?.runId ?? '',
        appliedSteps: this.held?.appliedSteps ?? 0,
      },
      this.metadata,
      () => undefined,
    );
  }

  private async process(job: Job): Promise<RankResult> {
    const data = parseRankJob(job.data);
    this.jobs.push(data);
    const result = await this.handler(data, this);
    if (result.ok) this.held = { runId: data.runId, appliedSteps: result.appliedSteps };
    return result;
  }
}
