/** matMul with transposed operands on wasm (routed through its untransposed kernel) against cpu. */
import * as tf from '@tensorflow/tfjs-core';
import { expectClose, randomTensor, useBackend, valuesOn } from '../test-utils/backends';
import { expectNoLeak } from '../test-utils/run-kernel';

const t = randomTensor;

describe('wasm matMul with transposes, and batched fused matMul with a bias', () => {
  it.each([
    [[13, 7], [5, 7], false, true],
    [[7, 13], [7, 5], true, false],
    [[7, 13], [5, 7], true, true],
    [[3, 7, 13], [3, 5, 7], true, true],
    [[3, 13, 7], [3, 7, 5], false, false],
  ] as Array<[number[], number[], boolean, boolean]>)(
    '%j x %j transposeA=%s transposeB=%s, plain and fused',
    async (aShape, bShape, ta, tb) => {
      const fn = () => [
        tf.matMul(t(aShape, 1), t(bShape, 2), ta, tb),
        tf.fused.matMul({
          a: t(aShape, 1),
          b: t(bShape, 2),
          transposeA: ta,
          transposeB: tb,
          bias: t([5], 3),
          activation: 'relu',
        }),
        tf.fused.matMul({
          a: t(aShape, 1),
          b: t(bShape, 2),
          transposeA: ta,
          transposeB: tb,
          bias: t([5], 3),
          activation: 'leakyrelu',
          leakyreluAlpha: 0.1,
        }),
        tf.fused.matMul({
          a: t(aShape, 1),
          b: t(bShape, 2),
          transposeA: ta,
          transposeB: tb,
          bias: t([5], 3),
        }),
      ];
      const ref = await valuesOn('cpu', fn);
      const got = await valuesOn('wasm', fn);
      got.forEach((values, i) => expectClose(values, ref[i], 1e-5));
    },
  );

  it('frees its temporaries', async () => {
    await useBackend('wasm');
    expectNoLeak(() =>
      tf.tidy(() => {
        tf.matMul(t([4, 3], 1), t([5, 4], 2), true, true);
        tf.fused.matMul({
          a: t([2, 4, 3], 1),
          b: t([2, 5, 4], 2),
          transposeA: true,
          transposeB: true,
          bias: t([5], 3),
          activation: 'relu',
        });
      }),
    );
  });
});
