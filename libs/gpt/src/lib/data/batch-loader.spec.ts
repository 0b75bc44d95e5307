import { BatchLoader } from './batch-loader';
import { DataError } from './data-error';
import { slidingWindows } from './sliding-windows';

/** Ids 0..n-1, so a window's first input id is its start offset. */
const ids = Int32Array.from({ length: 41 }, (_, i) => i);
const windows = slidingWindows(ids, 4, 4); // starts 0, 4, ..., 36: 10 windows

function firstColumn(inputs: Int32Array, T: number): number[] {
  return Array.from({ length: inputs.length / T }, (_, b) => inputs[b * T]);
}

describe('BatchLoader', () => {
  it('yields in-order batches of (B, T) with targets shifted by one, dropping the last partial batch', () => {
    const loader = new BatchLoader(windows, { batchSize: 3 });
    expect(loader.batchesPerEpoch).toBe(3);
    const batches = [...loader.restOfEpoch()];
    expect(batches.map((b) => firstColumn(b.inputs, 4))).toEqual([
      [0, 4, 8],
      [12, 16, 20],
      [24, 28, 32],
    ]);
    expect(Array.from(batches[0].inputs.subarray(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(batches[0].targets.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(batches[0].batchSize).toBe(3);
    expect(batches[0].contextLength).toBe(4);
    expect(loader.position()).toEqual({ epoch: 1, batchIndex: 0 });
  });

  it('keeps a smaller last batch when dropLast is false', () => {
    const loader = new BatchLoader(windows, { batchSize: 3, dropLast: false });
    expect(loader.batchesPerEpoch).toBe(4);
    const last = [...loader.restOfEpoch()][3];
    expect(last.batchSize).toBe(1);
    expect(last.inputs.length).toBe(4);
    expect(firstColumn(last.inputs, 4)).toEqual([36]);
  });

  it('shuffles deterministically, differently each epoch, covering every window', () => {
    const a = new BatchLoader(windows, { batchSize: 2, shuffle: true, seed: 123 });
    const b = new BatchLoader(windows, { batchSize: 2, shuffle: true, seed: 123 });
    const c = new BatchLoader(windows, { batchSize: 2, shuffle: true, seed: 124 });
    const epoch = (l: BatchLoader) => [...l.restOfEpoch()].flatMap((x) => firstColumn(x.inputs, 4));
    const a0 = epoch(a);
    const a1 = epoch(a);
    expect(epoch(b)).toEqual(a0);
    expect(epoch(c)).not.toEqual(a0);
    expect(a1).not.toEqual(a0);
    expect([...a0].sort((x, y) => x - y)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
    expect([...a1].sort((x, y) => x - y)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
  });

  it('resumes from a saved position with exactly the batches that followed', () => {
    const options = { batchSize: 3, shuffle: true, seed: 9 };
    const run = new BatchLoader(windows, options);
    for (let i = 0; i < 4; i++) run.next(); // into epoch 1
    const saved = JSON.parse(JSON.stringify(run.position()));
    expect(saved).toEqual({ epoch: 1, batchIndex: 1 });
    const expected = Array.from({ length: 5 }, () => run.next());
    const resumed = new BatchLoader(windows, options);
    resumed.seek(saved);
    expect(Array.from({ length: 5 }, () => resumed.next())).toEqual(expected);
  });

  it('rejects bad options and positions with clear errors', () => {
    expect(() => new BatchLoader(windows, { batchSize: 11 })).toThrow(DataError);
    expect(() => new BatchLoader(windows, { batchSize: 11 })).toThrow(
      /10 windows.*batch of 11.*--batch-size \(at most 10\)/,
    );
    expect(() => new BatchLoader(windows, { batchSize: 0 })).toThrow(/batchSize/);
    const loader = new BatchLoader(windows, { batchSize: 3 });
    expect(() => loader.seek({ epoch: 0, batchIndex: 3 })).toThrow(/batchIndex.*\[0, 3\).*got 3/);
    expect(() => loader.seek({ epoch: -1, batchIndex: 0 })).toThrow(/epoch/);
  });
});
