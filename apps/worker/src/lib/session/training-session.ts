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
import { DistributedBatchLoader, ShardError } from '@llm-forge/data-shards';
import { CheckpointError, createTokenizer, ForgeError, generate, meanLoss, type Batch } from '@llm-forge/gpt';
import { DataParallelStep } from '../data-parallel/data-parallel-step';
import { ReplicaDivergenceError } from '../errors/replica-divergence-error';
import { freshReplica, replicaFromCheckpoint, type Replica } from './replica';
import { saveRunCheckpoint } from './run-checkpoints';

/** Prompt of the samples rank 0 generates at evaluation steps (the book's). */
const SAMPLE_PROMPT = 'Every effort moves you';
const SAMPLE_TOKENS = 24;

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
  dp: DataParallelStep;
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
    if (this.generation?.key === key && this.generation.dp.trainer === replica.trainer)
      return this.generation;
    this.generation = undefined;
    this.ring.reconfigure({ rank: job.rank, worldSize: job.worldSize, runId: job.runId });
    await this.ring.connect(addresses);
    const { spec } = job;
    const dp = new DataParallelStep(replica.trainer, this.ring, {
      globalBatchSize: spec.batchSize,
      checkEvery: spec.verifyEvery,
      attempt: job.attempt,
      wireDType: spec.wireDType,
    });
    const loader = new DistributedBatchLoader(replica.data.train, {
      contextLength: replica.contextLength,
      stride: replica.stride,
      batchSize: spec.batchSize,
      shuffle: spec.shuffle,
      seed: spec.seed,
      rank: job.rank,
      worldSize: job.worldSize,
    });
    this.generation = { key, rank: job.rank, worldSize: job.worldSize, dp, loader };
    return this.generation;
  }

  private async step(
    job: RankJobData,
    replica: Replica,
    generation: RingGeneration,
    started: number,
  ): Promise<RankSuccess> {
    const { loader, dp } = generation;
    const epoch = Math.floor(job.step / loader.stepsPerEpoch);
    const slice = loader.batchAt(epoch, job.step % loader.stepsPerEpoch);
    const metrics = await dp.step(microBatches(slice, job.spec.microBatchSize));
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
    if (job.rank === 0 && job.evaluate) Object.assign(result, this.evaluate(replica, job));
    if (job.rank === 0 && job.saveCheckpoint) {
      const next = job.step + 1;
      const position = {
        seed: job.spec.seed,
        epoch: Math.floor(next / loader.stepsPerEpoch),
        step: next % loader.stepsPerEpoch,
      };
      result.checkpoint = saveRunCheckpoint(replica, position, job.checkpointDir, job.spec.keepCheckpoints);
    }
    result.jobMs = performance.now() - started;
    return result;
  }

  /** Train and validation loss over the first evalBatches global batches of each split, and a greedy sample. */
  private evaluate(replica: Replica, job: RankJobData): Pick<RankSuccess, 'eval' | 'sample'> {
    const n = job.spec.evalBatches;
    const firstBatches = (stream: Replica['data']['train']): Batch[] => {
      const loader = new DistributedBatchLoader(stream, {
        contextLength: replica.contextLength,
        stride: replica.stride,
        batchSize: Math.min(job.spec.batchSize, countFullWindows(stream.length, replica)),
        shuffle: false,
        seed: job.spec.seed,
      });
      return Array.from({ length: Math.min(n, loader.stepsPerEpoch) }, (_, i) => loader.globalBatchAt(0, i));
    };
    const trainLoss = meanLoss(replica.model, firstBatches(replica.data.train)).loss;
    const validation = replica.data.validation;
    const canValidate = validation !== undefined && countFullWindows(validation.length, replica) > 0;
    const valLoss = canValidate ? meanLoss(replica.model, firstBatches(validation)).loss : undefined;
    const tokenizer = createTokenizer();
    const prompt = tokenizer.encode(SAMPLE_PROMPT);
    const ids = generate(replica.model, prompt, { maxNewTokens: SAMPLE_TOKENS });
    return {
      eval: valLoss === undefined ? { trainLoss } : { trainLoss, valLoss },
      sample: tokenizer.decode([...prompt, ...ids]),
    };
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

/** Windows of T + 1 tokens at stride S in n tokens. */
function countFullWindows(tokens: number, replica: Replica): number {
  const T = replica.contextLength;
  return tokens > T ? Math.ceil((tokens - T) / replica.stride) : 0;
}

/** Splits b rows into micro-batches of at most `rows` rows (as equal as possible). */
export function microBatches(slice: Batch, rows?: number): Batch[] {
  const b = slice.batchSize;
  if (rows === undefined || rows >= b) return [slice];
  const count = Math.ceil(b / rows);
  const T = slice.contextLength;
  const out: Batch[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(b / count) + (i < b % count ? 1 : 0);
    const range = [start * T, (start + size) * T] as const;
    out.push({
      inputs: slice.inputs.subarray(...range),
      targets: slice.targets.subarray(...range),
      batchSize: size,
      contextLength: T,
    });
    start += size;
  }
  return out;
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
