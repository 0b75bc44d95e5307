/**
 * Everything a worker does for one rank job: make sure it holds the run's replica at the job's step
 * (kept in memory from the previous step, loaded from a checkpoint, or fresh at step 0), join the
 * job's ring generation, take the data-parallel step on its slice of the global batch, and — on
 * rank 0 — evaluate and write checkpoints. Never throws: every outcome is a {@link RankResult}, so
 * the coordinator's parent step job always runs and decides (retry, resume, fail).
 *
 * B = global batch size, b = this rank's rows, T = context length, N = world size.
 */
import { CollectiveError, type AllReduceRing } from '@llm-forge/collective';
import type { FailureKind, RankJobData, RankResult, RankSuccess } from '@llm-forge/cluster-protocol';
import { ShardError, type DistributedBatchLoader } from '@llm-forge/data-shards';
import { CheckpointError, ForgeError } from '@llm-forge/gpt';
import {
  dataPosition,
  evaluateReplica,
  freshReplica,
  rankLoader,
  ReplicaDivergenceError,
  replicaFromCheckpoint,
  RingCollective,
  sampleText,
  saveRunCheckpoint,
  stepShare,
  TrainingLoop,
  type Replica,
} from '@llm-forge/training';

/** A job's failure with its kind and the file it is about. */
class StepFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** The ring generation this worker is in: which run, attempt and members. */
interface RingGeneration {
  key: string;
  rank: number;
  worldSize: number;
  loop: TrainingLoop;
  loader: DistributedBatchLoader;
}

/** A worker's training state across rank jobs. One job at a time. */
export class TrainingSession {
  private replica?: Replica;
  private generation?: RingGeneration;
  /** Highest attempt seen per run, to refuse stale jobs of an aborted attempt. */
  private readonly attempts = new Map<string, number>();

  constructor(
    /** This worker's id (reported back in results). */
    readonly workerId: string,
    /** This worker's collective endpoint; reconfigured for every ring generation. */
    readonly ring: AllReduceRing,
  ) {}

  /** The run and step count of the replica held in memory, if any. */
  held(): { runId: string; appliedSteps: number } | undefined {
    return this.replica && { runId: this.replica.runId, appliedSteps: this.replica.trainer.stepsDone };
  }

  /** Runs one rank job; resolves to its result (success or a classified failure). */
  async run(job: RankJobData): Promise<RankResult> {
    const started = performance.now();
    try {
      this.refuseStale(job);
      const replica = this.ensureReplica(job);
      const generation = await this.ensureGeneration(job, replica);
      return await this.step(job, replica, generation, started);
    } catch (error) {
      return this.failure(job, error);
    }
  }

  /** Frees the replica (e.g. when the run ended). */
  release(): void {
    this.replica?.model.dispose();
    this.replica = undefined;
    this.generation = undefined;
  }

  private refuseStale(job: RankJobData): void {
    const newest = this.attempts.get(job.runId) ?? -1;
    if (job.attempt < newest) {
      throw new StepFailure(
        'transient',
        `stale job: attempt ${job.attempt} of step ${job.step} after attempt ${newest}`,
      );
    }
    this.attempts.set(job.runId, job.attempt);
  }

  private ensureReplica(job: RankJobData): Replica {
    const held = this.replica;
    if (job.resumeFrom !== undefined) {
      this.release();
      this.replica = replicaFromCheckpoint(job.runId, job.spec, job.resumeFrom, job.step);
    } else if (held && held.runId === job.runId && held.trainer.stepsDone === job.step) {
      return held;
    } else if (job.step === 0) {
      this.release();
      this.replica = freshReplica(job.runId, job.spec);
    } else {
      const has = held ? `run ${held.runId} after ${held.trainer.stepsDone} steps` : 'no replica';
      throw new StepFailure('state', `holds ${has}, not run ${job.runId} after ${job.step} steps`);
    }
    return this.replica;
  }

  private async ensureGeneration(job: RankJobData, replica: Replica): Promise<RingGeneration> {
    const addresses = job.peers.map((p) => p.address);
    const key = JSON.stringify([job.runId, job.attempt, job.rank, addresses]);
    if (this.generation?.key === key && this.generation.loop.trainer === replica.trainer)
      return this.generation;
    this.generation = undefined;
    this.ring.reconfigure({ rank: job.rank, worldSize: job.worldSize, jobId: job.runId });
    await this.ring.connect(addresses);
    const { spec } = job;
    const collective = new RingCollective(this.ring, { attempt: job.attempt });
    const loop = new TrainingLoop(replica.trainer, collective, {
      verifyEvery: spec.verifyEvery,
      wireDType: spec.wireDType,
    });
    const loader = rankLoader(replica, job.rank, job.worldSize);
    this.generation = { key, rank: job.rank, worldSize: job.worldSize, loop, loader };
    return this.generation;
  }

  private async step(
    job: RankJobData,
    replica: Replica,
    generation: RingGeneration,
    started: number,
  ): Promise<RankSuccess> {
    const { loader, loop } = generation;
    const metrics = await loop.step(stepShare(replica, loader, job.step));
    const result: RankSuccess = {
      ok: true,
      workerId: this.workerId,
      rank: job.rank,
      step: job.step,
      appliedSteps: replica.trainer.stepsDone,
      loss: metrics.loss,
      localLoss: metrics.localLoss,
      tokens: metrics.tokens,
      lr: metrics.lr,
      gradNorm: metrics.gradNorm,
      computeMs: metrics.computeMs,
      commMs: metrics.communicationMs,
      bytesSent: metrics.bytesSent,
      jobMs: 0,
      verified: metrics.verified,
    };
    if (job.rank === 0 && job.evaluate) {
      result.eval = evaluateReplica(replica);
      result.sample = sampleText(replica.model);
    }
    if (job.rank === 0 && job.saveCheckpoint) {
      const position = dataPosition(replica, loader, job.step + 1);
      result.checkpoint = saveRunCheckpoint(replica, position, job.checkpointDir, job.spec.keepCheckpoints);
    }
    result.jobMs = performance.now() - started;
    return result;
  }

  private failure(job: RankJobData, error: unknown): RankResult {
    const { kind, file } = classify(error);
    if (kind !== 'transient' && kind !== 'state') this.generation = undefined;
    return {
      ok: false,
      workerId: this.workerId,
      rank: job.rank,
      step: job.step,
      appliedSteps: this.replica?.runId === job.runId ? this.replica.trainer.stepsDone : null,
      kind,
      error: (error as Error).message ?? String(error),
      ...(file !== undefined ? { file } : {}),
    };
  }
}

/** Which kind of failure an error is, and the file it names. */
function classify(error: unknown): { kind: FailureKind; file?: string } {
  if (error instanceof StepFailure) return { kind: error.kind, file: error.file };
  if (error instanceof CollectiveError) return { kind: 'transient' };
  if (error instanceof ReplicaDivergenceError) return { kind: 'fatal' };
  if (error instanceof CheckpointError) return { kind: 'checkpoint', file: error.file };
  if (error instanceof ShardError) return { kind: 'fatal', file: error.file };
  if (error instanceof ForgeError) return { kind: 'fatal' };
  return { kind: 'transient' };
}
