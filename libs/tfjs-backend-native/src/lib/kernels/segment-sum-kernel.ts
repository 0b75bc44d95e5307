import { UnsortedSegmentSum, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import type { FusedMath } from '../math/fused-math';
import { segmentSum as segmentSumJs } from '../math/segment-sum-js';
import { input, numberAttr } from './kernel-checks';
import { sizeOf, type KernelIOFactory } from './kernel-io';

/**
 * UnsortedSegmentSum (scatter-add, the gradient of gather): x [...ids.shape, ...rest], segmentIds
 * int32 -> out [numSegments, ...rest]. Float32 goes through `math` (native or JS), int32 through
 * the JS loop.
 */
export function segmentSumKernelConfig(
  backendName: string,
  io: KernelIOFactory,
  math: FusedMath,
): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = UnsortedSegmentSum;
    const x = inputs.x;
    if (!x || (x.dtype !== 'float32' && x.dtype !== 'int32'))
      throw new Error(`${k}: x must be float32 or int32`);
    const ids = input(k, inputs, 'segmentIds', 'int32');
    const numSegments = numberAttr(k, attrs, 'numSegments', true);
    const n = sizeOf(ids.shape);
    if (x.shape.length < ids.shape.length || ids.shape.some((d, i) => d !== x.shape[i])) {
      throw new Error(
        `${k}: segmentIds shape [${ids.shape.join(', ')}] must prefix x shape [${x.shape.join(', ')}]`,
      );
    }
    const rest = x.shape.slice(ids.shape.length);
    const rowSize = sizeOf(rest);
    const t = io(backend);
    const out = t.alloc([numSegments, ...rest], x.dtype);
    if (x.dtype === 'float32') {
      math.segmentSum(t.readF32(x), t.readI32(ids), t.writeF32(out), n, rowSize, numSegments);
    } else {
      segmentSumJs(t.readI32(x), t.readI32(ids), t.writeI32(out), n, rowSize, numSegments);
    }
    return out;
  };
  return { kernelName: UnsortedSegmentSum, backendName, kernelFunc };
}
