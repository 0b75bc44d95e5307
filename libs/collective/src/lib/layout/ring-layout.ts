/**
 * Where every element of a flat buffer travels in a ring all-reduce.
 *
 * buffer (L elements) → buckets of `bucketElements` → each bucket split into N segments
 * (sizes differ by at most one; some are empty when a bucket has fewer than N elements)
 * → each segment streamed in chunks of `chunkElements`.
 *
 * Ring schedule for rank r, ring step s = 0 .. N-2 (all indices mod N):
 *   reduce-scatter: send segment r-s,   receive segment r-s-1 and add it in
 *   all-gather:     send segment r+1-s, receive segment r-s   and copy it
 * After reduce-scatter rank r owns the fully reduced segment r+1. Every received chunk except
 * those of the last all-gather step is forwarded unchanged in position at the next ring step.
 */

/** One segment: a contiguous element range of a bucket. */
export interface SegmentLayout {
  /** Segment index within the bucket, 0 .. N-1. */
  readonly index: number;
  /** First element, as an offset into the whole buffer. */
  readonly start: number;
  /** Number of elements (0 when the bucket has fewer elements than ranks). */
  readonly length: number;
}

/** One bucket: a contiguous element range that goes round the ring as one unit. */
export interface BucketLayout {
  /** Bucket index, 0-based. */
  readonly id: number;
  /** First element, as an offset into the whole buffer. */
  readonly start: number;
  /** Number of elements. */
  readonly length: number;
  /** The N segments, in index order. */
  readonly segments: readonly SegmentLayout[];
}

/** `a mod n` in 0 .. n-1, also for negative `a`. */
export function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** Splits `totalElements` into buckets of `bucketElements` and each bucket into `worldSize` segments. */
export function planBuckets(
  totalElements: number,
  worldSize: number,
  bucketElements: number,
): BucketLayout[] {
  const buckets: BucketLayout[] = [];
  for (let start = 0, id = 0; start < totalElements; start += bucketElements, id++) {
    const length = Math.min(bucketElements, totalElements - start);
    const base = Math.floor(length / worldSize);
    const extra = length % worldSize; // the first `extra` segments get one more element
    const segments: SegmentLayout[] = [];
    for (let i = 0, at = start; i < worldSize; i++) {
      const segLength = base + (i < extra ? 1 : 0);
      segments.push({ index: i, start: at, length: segLength });
      at += segLength;
    }
    buckets.push({ id, start, length, segments });
  }
  return buckets;
}

/** The [offset, length] element ranges of a segment's chunks, in order. */
export function segmentChunks(
  segment: SegmentLayout,
  chunkElements: number,
): Array<[offset: number, length: number]> {
  const chunks: Array<[number, number]> = [];
  const end = segment.start + segment.length;
  for (let at = segment.start; at < end; at += chunkElements)
    chunks.push([at, Math.min(chunkElements, end - at)]);
  return chunks;
}

/** Segment rank `rank` sends at ring step `ringStep` of a phase. */
export function sendSegment(
  phase: 'reduce-scatter' | 'all-gather',
  rank: number,
  ringStep: number,
  worldSize: number,
): number {
  return phase === 'reduce-scatter' ? mod(rank - ringStep, worldSize) : mod(rank + 1 - ringStep, worldSize);
}

/** Segment rank `rank` receives at ring step `ringStep` of a phase. */
export function receiveSegment(
  phase: 'reduce-scatter' | 'all-gather',
  rank: number,
  ringStep: number,
  worldSize: number,
): number {
  return phase === 'reduce-scatter' ? mod(rank - ringStep - 1, worldSize) : mod(rank - ringStep, worldSize);
}

/** Sum of the segment lengths `segmentOf` picks for `rank` over every ring step of both phases. */
function countElements(
  buckets: readonly BucketLayout[],
  rank: number,
  worldSize: number,
  segmentOf: typeof sendSegment,
): number {
  let total = 0;
  for (const bucket of buckets) {
    for (let s = 0; s < worldSize - 1; s++) {
      total += bucket.segments[segmentOf('reduce-scatter', rank, s, worldSize)].length;
      total += bucket.segments[segmentOf('all-gather', rank, s, worldSize)].length;
    }
  }
  return total;
}

/** Elements rank `rank` receives in one whole all-reduce. */
export function expectedReceiveElements(
  buckets: readonly BucketLayout[],
  rank: number,
  worldSize: number,
): number {
  return countElements(buckets, rank, worldSize, receiveSegment);
}

/** Elements rank `rank` sends in one whole all-reduce. */
export function expectedSendElements(
  buckets: readonly BucketLayout[],
  rank: number,
  worldSize: number,
): number {
  return countElements(buckets, rank, worldSize, sendSegment);
}
