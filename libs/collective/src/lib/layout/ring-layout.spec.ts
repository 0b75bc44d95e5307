import {
  expectedReceiveElements,
  expectedSendElements,
  planBuckets,
  receiveSegment,
  segmentChunks,
  sendSegment,
} from './ring-layout';

describe('ring layout', () => {
  it('splits buckets into N segments covering every element once', () => {
    const buckets = planBuckets(10, 4, 7);
    expect(buckets.map((b) => [b.start, b.length])).toEqual([
      [0, 7],
      [7, 3],
    ]);
    expect(buckets[0].segments.map((s) => s.length)).toEqual([2, 2, 2, 1]);
    expect(buckets[1].segments.map((s) => s.length)).toEqual([1, 1, 1, 0]); // fewer elements than ranks
    expect(buckets[1].segments.map((s) => s.start)).toEqual([7, 8, 9, 10]);
  });

  it('chunks a segment', () => {
    expect(segmentChunks({ index: 0, start: 5, length: 7 }, 3)).toEqual([
      [5, 3],
      [8, 3],
      [11, 1],
    ]);
  });

  it('forwards what it received at the next ring step, and every rank gets each segment once per phase', () => {
    const n = 5;
    for (let r = 0; r < n; r++) {
      for (let s = 0; s < n - 2; s++) {
        expect(sendSegment('reduce-scatter', r, s + 1, n)).toBe(receiveSegment('reduce-scatter', r, s, n));
        expect(sendSegment('all-gather', r, s + 1, n)).toBe(receiveSegment('all-gather', r, s, n));
      }
      expect(sendSegment('all-gather', r, 0, n)).toBe(receiveSegment('reduce-scatter', r, n - 2, n)); // the owned one
      // what r sends, r+1 receives
      for (let s = 0; s < n - 1; s++)
        expect(receiveSegment('reduce-scatter', (r + 1) % n, s, n)).toBe(
          sendSegment('reduce-scatter', r, s, n),
        );
    }
    const buckets = planBuckets(103, n, 50);
    const sent = Array.from({ length: n }, (_, r) => expectedSendElements(buckets, r, n));
    const received = Array.from({ length: n }, (_, r) => expectedReceiveElements(buckets, (r + 1) % n, n));
    expect(received).toEqual(sent);
  });
});
