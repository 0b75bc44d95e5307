/**
 * N data-parallel ranks of one model in this process, over a real gRPC ring on loopback (with a
 * worker's ring kernels when the native addon is built): what bench:bf16 and bench:diloco train.
 * Needs the built libraries (`npm run build`).
 */
'use strict';

/**
 * Starts `ranks` replicas of `preset` (seed 123, no dropout), each with its slice of the global
 * batch of `batch` windows of `context` tokens of `tokens` (in order), a cosine schedule over
 * `steps` (lr 1e-3 to 1e-4 after 10 warmup steps; `schedule` overrides any of those), and a
 * TrainingLoop with `loopOptions(trainer)`. Returns the ranks and `close()`.
 */
async function startLoopbackRanks({
  ranks,
  preset,
  tokens,
  batch,
  context,
  steps,
  schedule = {},
  loopOptions = () => ({}),
}) {
  const { RingAllReduce } = require('@llm-forge/collective');
  const { ArrayTokenStream, DistributedBatchLoader } = require('@llm-forge/data-shards');
  const { GPTModel, Trainer, presetConfig } = require('@llm-forge/gpt');
  const { RingCollective, TrainingLoop } = require('@llm-forge/training');
  const native = require('@llm-forge/tfjs-backend-native');
  const config = presetConfig(preset, { dropRate: 0 });
  const kernels = native.nativeAddonStatus().loaded ? native.ringKernels() : {};
  const rings = await Promise.all(
    Array.from({ length: ranks }, (_, rank) =>
      RingAllReduce.listen({ rank, worldSize: ranks, secret: 'bench', timeoutMs: 600_000, ...kernels }),
    ),
  );
  await Promise.all(rings.map((r) => r.connect(rings.map((x) => x.address))));
  const replicas = rings.map((ring, rank) => {
    const model = GPTModel.random(config, 123);
    const trainer = new Trainer(model, {
      schedule: {
        lr: 1e-3,
        minLr: 1e-4,
        warmupSteps: 10,
        schedule: 'cosine',
        totalSteps: steps,
        ...schedule,
      },
      adamw: { weightDecay: 0.1 },
      gradClip: 1,
      seed: 123,
    });
    const loader = new DistributedBatchLoader(new ArrayTokenStream(tokens), {
      contextLength: context,
      batchSize: batch,
      shuffle: false,
      seed: 123,
      rank,
      worldSize: ranks,
    });
    const loop = new TrainingLoop(trainer, new RingCollective(ring), {
      verifyEvery: 0,
      ...loopOptions(trainer),
    });
    return { model, trainer, loader, loop };
  });
  const close = async () => {
    await Promise.all(rings.map((r) => r.close()));
    for (const r of replicas) r.model.dispose();
  };
  return { replicas, close };
}

/** The value after `--name` on the command line, or `fallback`. */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

module.exports = { arg, startLoopbackRanks };
