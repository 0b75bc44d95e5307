/**
 * Test helper: N data-parallel ranks in one process on loopback, each with its own model replica,
 * trainer, batch loader (rank r of N) and ring; one rank trains as a single process (no ring traffic).
 */
import { RingAllReduce, type RingAllReduceOptions } from '@llm-forge/collective';
import { ArrayTokenStream, DistributedBatchLoader } from '@llm-forge/data-shards';
import { GPTModel, Trainer, type GPTConfig, type TrainerOptions } from '@llm-forge/gpt';
import { SINGLE_PROCESS } from '../collective/gradient-collective';
import { RingCollective } from '../collective/ring-collective';
import { rowShare } from '../loop/local-share';
import { OuterOptimizer, type DilocoOptions } from '../loop/outer-optimizer';
import { TrainingLoop, type StepMetrics } from '../loop/training-loop';

/** One rank of a test ring. */
export interface TestRank {
  model: GPTModel;
  trainer: Trainer;
  loader: DistributedBatchLoader;
  ring: RingAllReduce;
  loop: TrainingLoop;
  globalBatchSize: number;
}

/** How to build a test ring. */
export interface TestRingOptions {
  config: GPTConfig;
  tokens: Int32Array;
  worldSize: number;
  globalBatchSize: number;
  trainer: TrainerOptions;
  modelSeed?: number;
  dataSeed?: number;
  checkEvery?: number;
  ring?: Partial<RingAllReduceOptions>;
  /** DiLoCo instead of DDP. */
  diloco?: DilocoOptions;
  /** DDP: overlap the gradient sum with backward. @defaultValue true */
  overlap?: boolean;
}

/** Starts `worldSize` ranks with identical replicas and connects their rings. */
export async function startRanks(options: TestRingOptions): Promise<TestRank[]> {
  const { config, tokens, worldSize, globalBatchSize } = options;
  const rings = await Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      RingAllReduce.listen({
        secret: 'test-secret',
        timeoutMs: 10_000,
        // Small buckets and chunks, so the gradients cross bucket and chunk boundaries.
        bucketBytes: 4 * 4096,
        chunkBytes: 4 * 1024,
        ...options.ring,
        rank,
        worldSize,
      }),
    ),
  );
  const addresses = rings.map((r) => r.address);
  await Promise.all(rings.map((r) => r.connect(addresses)));
  return rings.map((ring, rank) => {
    const model = GPTModel.random(config, options.modelSeed ?? 0);
    const trainer = new Trainer(model, options.trainer);
    const loader = new DistributedBatchLoader(new ArrayTokenStream(tokens), {
      contextLength: config.contextLength,
      batchSize: globalBatchSize,
      seed: options.dataSeed ?? 0,
      rank,
      worldSize,
    });
    const collective = worldSize === 1 ? SINGLE_PROCESS : new RingCollective(ring);
    const loop = new TrainingLoop(trainer, collective, {
      verifyEvery: options.checkEvery,
      overlap: options.overlap,
      ...(options.diloco ? { outer: new OuterOptimizer(trainer.params, options.diloco) } : {}),
    });
    return { model, trainer, loader, ring, loop, globalBatchSize };
  });
}

/** One step of one rank on its loader's next slice. */
export function stepRank(rank: TestRank): Promise<StepMetrics> {
  return rank.loop.step(rowShare(rank.loader.next(), rank.globalBatchSize));
}

/** One step on every rank, each on its loader's next slice. */
export function stepAll(ranks: TestRank[]): Promise<StepMetrics[]> {
  return Promise.all(ranks.map(stepRank));
}

/** Closes every ring and frees every model's variables. */
export async function stopRanks(ranks: TestRank[]): Promise<void> {
  await Promise.all(ranks.map((r) => r.ring.close()));
  for (const r of ranks) r.model.dispose();
}
