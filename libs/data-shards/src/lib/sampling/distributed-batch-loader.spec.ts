import * as fs from 'fs';
import * as path from 'path';
import {
  createTokenizer,
  deriveSeed,
  Rng,
  slidingWindows,
  windowBatches,
  windowCount,
  type Batch,
} from '@llm-forge/gpt';

/**
 * The training order stated directly: the windows of `ids` at (T, S), permuted per epoch by the
 * seeded shuffle of (seed, epoch) (identity without shuffle), B at a time, the partial batch dropped.
 */
function referenceBatches(ids: Int32Array, T: number, S: number, B: number, shuffle: boolean, seed: number) {
  const windows = slidingWindows(ids, T, S);
  return (epoch: number, k: number): Batch => {
    const order = Int32Array.from({ length: windowCount(windows) }, (_, i) => i);
    if (shuffle) new Rng(deriveSeed(seed, epoch)).shuffle(order);
    const starts = order.slice(k * B, (k + 1) * B).map((w) => windows.starts[w]);
    return windowBatches({ ...windows, starts }, B)[0];
  };
}
import { ShardDataset } from '../dataset/shard-dataset';
import { ArrayTokenStream } from '../dataset/token-stream';
import { prepareShards } from '../prepare/prepare-shards';
import { describeIfShared, sharedPath } from '../test-utils/shared-data';
import { tempDir } from '../test-utils/temp-dir';
import { DistributedBatchLoader } from './distributed-batch-loader';

describe('DistributedBatchLoader', () => {
  const root = tempDir();
  const docs = Array.from(
    { length: 30 },
    (_, i) => `Chapter ${i}. ${'Call me Ishmael, said the sailor to the whale. '.repeat(1 + (i % 4))}`,
  );
  let dataset: ShardDataset;
  let trainIds: Int32Array;
  beforeAll(async () => {
    const outDir = path.join(root, 'ds');
    // 37-token shards: windows of 9 tokens often cross a shard boundary.
    await prepareShards({
      inputs: [{ name: 'mem', documents: docs }],
      outDir,
      shardTokens: 37,
      threads: 0,
      valFraction: 0.1,
    });
    dataset = ShardDataset.open(outDir);
    const train = dataset.split('train');
    trainIds = new Int32Array(train.length);
    train.read(0, train.length, trainIds);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('gives the batches of the training order over the same ids, in order or shuffled, across shards', () => {
    for (const [shuffle, T, S, B] of [
      [false, 8, 8, 4],
      [false, 8, 3, 5],
      [true, 8, 5, 3],
    ] as const) {
      const reference = referenceBatches(trainIds, T, S, B, shuffle, 11);
      const loader = new DistributedBatchLoader(dataset.split('train'), {
        contextLength: T,
        stride: S,
        batchSize: B,
        shuffle,
        seed: 11,
      });
      expect(loader.stepsPerEpoch).toBe(windowBatches(slidingWindows(trainIds, T, S), B).length);
      for (let i = 0; i < 2 * loader.stepsPerEpoch + 1; i++) {
        const want = reference(Math.floor(i / loader.stepsPerEpoch), i % loader.stepsPerEpoch);
        const got = loader.next();
        expect(got.batchSize).toBe(want.batchSize);
        expect(got.inputs).toEqual(want.inputs);
        expect(got.targets).toEqual(want.targets);
      }
    }
  });

  it('gives the ranks slices whose concatenation is the global batch, for 1, 2 and 3 ranks', () => {
    const options = { contextLength: 8, stride: 4, batchSize: 7, seed: 5 };
    const global = new DistributedBatchLoader(dataset.split('train'), options);
    for (const N of [1, 2, 3]) {
      const ranks = Array.from(
        { length: N },
        (_, rank) => new DistributedBatchLoader(dataset.split('train'), { ...options, rank, worldSize: N }),
      );
      for (const [epoch, step] of [
        [0, 0],
        [0, 3],
        [2, 1],
      ]) {
        const parts = ranks.map((r) => r.batchAt(epoch, step));
        const want = global.globalBatchAt(epoch, step);
        expect(parts.reduce((n, p) => n + p.batchSize, 0)).toBe(7);
        expect(Array.from(parts.flatMap((p) => Array.from(p.inputs)))).toEqual(Array.from(want.inputs));
        expect(Array.from(parts.flatMap((p) => Array.from(p.targets)))).toEqual(Array.from(want.targets));
      }
      expect(ranks.map((r) => r.slice.count)).toEqual(N === 3 ? [3, 2, 2] : N === 2 ? [4, 3] : [7]);
    }
  });

  it('resumes from a saved DataPosition, with any number of ranks', () => {
    const options = { contextLength: 8, batchSize: 4, seed: 3 };
    const run = new DistributedBatchLoader(dataset.split('train'), options);
    for (let i = 0; i < run.stepsPerEpoch + 2; i++) run.next();
    const saved = JSON.parse(JSON.stringify(run.position()));
    expect(saved).toEqual({ seed: 3, epoch: 1, step: 2 });
    const expected = [run.next(), run.next()];
    const resumed = new DistributedBatchLoader(dataset.split('train'), { ...options, rank: 1, worldSize: 2 });
    resumed.seek(saved);
    const got = [resumed.next(), resumed.next()];
    got.forEach((g, i) => expect(g.inputs).toEqual(expected[i].inputs.subarray(2 * 8)));
    expect(() => resumed.seek({ ...saved, seed: 4 })).toThrow(
      /data position seed 4 differs from the sampler's seed 3/,
    );
    expect(() => resumed.seek({ ...saved, step: 10_000 })).toThrow(
      /data position step must be an integer in \[0, \d+\), got 10000/,
    );
  });

  it('works over ids in memory too', () => {
    const ids = Int32Array.from({ length: 41 }, (_, i) => i);
    const loader = new DistributedBatchLoader(new ArrayTokenStream(ids), {
      contextLength: 4,
      batchSize: 3,
      shuffle: false,
    });
    expect(Array.from(loader.next().inputs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});

describeIfShared('prepare + DistributedBatchLoader on the-verdict.txt', () => {
  const root = tempDir();
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("gives forge train's token stream and batches (val-fraction 0, no shuffle), chunked or not", async () => {
    const file = sharedPath('data', 'the-verdict.txt');
    const ids = createTokenizer().encode(fs.readFileSync(file, 'utf8'));
    expect(ids.length).toBe(5145);
    const outDir = path.join(root, 'verdict');
    await prepareShards({
      inputs: [file],
      outDir,
      shardTokens: 1000,
      chunkChars: 500,
      valFraction: 0,
      threads: 2,
    });
    const train = ShardDataset.open(outDir).split('train');
    const reference = windowBatches(slidingWindows(ids, 256, 256), 2);
    const loader = new DistributedBatchLoader(train, { contextLength: 256, batchSize: 2, shuffle: false });
    expect(loader.stepsPerEpoch).toBe(reference.length);
    for (let s = 0; s < loader.stepsPerEpoch; s++) expect(loader.next().inputs).toEqual(reference[s].inputs);
  });
});
