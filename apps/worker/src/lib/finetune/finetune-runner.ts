/**
 * A worker's share of a finetune job: join the attempt's ring generation, run the job's training
 * loop (libs/finetune's `runFinetuneJob`) with the ring's all-reduce as its gradient sum, and turn
 * the outcome into a {@link FinetuneResult}. Never throws: the coordinator's parent job always runs
 * and decides (retry from the job's saved state, or fail). One job at a time.
 */
import { CollectiveError, type AllReduceRing } from '@llm-forge/collective';
import type {
  FailureKind,
  FinetuneProgress,
  FinetuneRankJobData,
  FinetuneResult,
} from '@llm-forge/cluster-protocol';
import { finetuneJobId } from '@llm-forge/cluster-protocol';
import { FinetuneAbortedError, runFinetuneJob } from '@llm-forge/finetune';
import { CheckpointError, ForgeError } from '@llm-forge/gpt';
import { RingCollective } from '@llm-forge/training';

/** Callbacks of one finetune job. */
export interface FinetuneJobHooks {
  /** Rank 0's progress, forwarded to the job's BullMQ progress. */
  onProgress?(progress: FinetuneProgress): void;
  log?(message: string, fields?: Record<string, unknown>): void;
}

/** Runs finetune rank jobs on a worker's ring endpoint. */
export class FinetuneRunner {
  private abortReason?: string;
  private running?: string;

  constructor(
    private readonly workerId: string,
    private readonly ring: AllReduceRing,
  ) {}

  /** Stops the running job (if it is `jobId`) before its next step. */
  abort(jobId: string, reason: string): void {
    if (this.running === jobId) this.abortReason = reason;
  }

  /** Runs one rank's share of a finetune attempt. */
  async run(job: FinetuneRankJobData, hooks: FinetuneJobHooks = {}): Promise<FinetuneResult> {
    const started = performance.now();
    const jobId = finetuneJobId(job.finetuneId, job.attempt);
    this.running = jobId;
    this.abortReason = undefined;
    let steps = 0;
    try {
      // The generation's run id keeps all-reduce keys of different attempts apart.
      this.ring.reconfigure({ rank: job.rank, worldSize: job.worldSize, jobId });
      await this.ring.connect(job.peers.map((p) => p.address));
      const outcome = await runFinetuneJob(job.spec, {
        collective: new RingCollective(this.ring, { attempt: job.attempt }),
        outDir: job.outDir,
        onProgress: (progress) => {
          steps = progress.step;
          hooks.onProgress?.(progress);
        },
        abortReason: () => this.abortReason,
        log: hooks.log,
      });
      return {
        ok: true,
        workerId: this.workerId,
        rank: job.rank,
        ...outcome,
        jobMs: performance.now() - started,
      };
    } catch (error) {
      const { kind, file } = classifyFinetuneError(error);
      return {
        ok: false,
        workerId: this.workerId,
        rank: job.rank,
        steps,
        kind,
        error: (error as Error).message ?? String(error),
        ...(file !== undefined ? { file } : {}),
      };
    } finally {
      this.running = undefined;
      this.abortReason = undefined;
    }
  }
}

/**
 * Which kind of failure an error is: bad input (data, spec, base checkpoint) cannot succeed on a
 * retry; a peer that failed, an abort or anything unexpected can.
 */
export function classifyFinetuneError(error: unknown): { kind: FailureKind; file?: string } {
  if (error instanceof FinetuneAbortedError || error instanceof CollectiveError) return { kind: 'transient' };
  if (error instanceof CheckpointError) return { kind: 'fatal', file: error.file };
  if (error instanceof ForgeError) return { kind: 'fatal' };
  return { kind: 'transient' };
}
