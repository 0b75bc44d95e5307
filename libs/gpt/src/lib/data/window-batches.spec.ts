import { DataError } from './data-error';
import { slidingWindows } from './sliding-windows';
import { windowBatches } from './window-batches';

const ids = Int32Array.from({ length: 40 }, (_, i) => i);

describe('windowBatches', () => {
  it('gathers windows in text order, targets shifted by one, the partial batch dropped', () => {
    const batches = windowBatches(slidingWindows(ids, 4, 4), 3); // 9 windows: 3 batches of 3
    expect(batches).toHaveLength(3);
    expect(batches[1]).toMatchObject({ batchSize: 3, contextLength: 4 });
    expect(Array.from(batches[1].inputs)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    expect(Array.from(batches[1].targets)).toEqual([13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(windowBatches(slidingWindows(ids, 4, 4), 4)).toHaveLength(2); // the 9th window dropped
  });

  it('refuses a batch size with no full batch, naming the flags', () => {
    const windows = slidingWindows(ids, 4, 4);
    expect(() => windowBatches(windows, 10)).toThrow(DataError);
    expect(() => windowBatches(windows, 10)).toThrow(/9 windows of 4 tokens, fewer than one batch of 10/);
    expect(() => windowBatches(windows, 0)).toThrow(/batchSize must be a positive integer/);
  });
});
