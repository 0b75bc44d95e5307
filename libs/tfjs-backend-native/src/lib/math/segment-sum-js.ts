/**
 * Unsorted segment sum (scatter-add) in plain JavaScript, the gradient of gather: out[ids[i]] +=
 * x[i] for rows of rowSize. Ids outside [0, numSegments) are dropped. Overwrites `out`.
 */
export function segmentSum(
  x: Float32Array | Int32Array,
  segmentIds: Int32Array,
  out: Float32Array | Int32Array,
  n: number,
  rowSize: number,
  numSegments: number,
): void {
  out.fill(0, 0, numSegments * rowSize);
  for (let i = 0; i < n; i++) {
    const s = segmentIds[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * rowSize;
    const dst = s * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j] += x[src + j];
  }
}
