/**
 * Which broadcasts of a binary op the native element-wise kernel covers: one operand has the
 * output's size ("full"); the other varies along one contiguous block of the output's axes, so
 * its element for output index i is other[(i / repeat) % period]. Same shape, bias rows [C] over
 * [N, C], columns [N, 1] over [N, C] and scalars all fit; anything else returns null.
 */
import { broadcast_util } from '@tensorflow/tfjs-core';
import { sizeOf } from './kernel-io';

/** How the non-full operand is indexed. */
export interface BinaryPlan {
  outShape: number[];
  /** Which input has the output's shape. */
  full: 'a' | 'b';
  period: number;
  repeat: number;
}

/** period and repeat of `shape` broadcast to `outShape`, or null when its axes are not one block. */
function indexing(
  shape: readonly number[],
  outShape: readonly number[],
): { period: number; repeat: number } | null {
  const padded = [...new Array<number>(outShape.length - shape.length).fill(1), ...shape];
  let first = -1;
  let last = -1;
  for (let k = 0; k < outShape.length; k++) {
    if (outShape[k] === 1) continue;
    if (padded[k] === outShape[k]) {
      if (first < 0) first = k;
      else if (last !== k - 1 && outShape.slice(last + 1, k).some((d) => d !== 1)) return null; // a gap
      last = k;
    }
  }
  if (first < 0) return { period: 1, repeat: sizeOf(outShape) };
  return { period: sizeOf(outShape.slice(first, last + 1)), repeat: sizeOf(outShape.slice(last + 1)) };
}

/** The plan for a op b, or null when the native kernel does not cover it. */
export function planBinary(aShape: readonly number[], bShape: readonly number[]): BinaryPlan | null {
  const outShape = broadcast_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  const n = sizeOf(outShape);
  const full = sizeOf(aShape) === n ? 'a' : sizeOf(bShape) === n ? 'b' : null;
  if (full === null || n === 0) return null;
  const other = indexing(full === 'a' ? bShape : aShape, outShape);
  return other ? { outShape, full, ...other } : null;
}
