/**
 * The Forge fused kernels (see kernel-names.ts for the contract) for one backend, from a
 * {@link KernelIO} (how that backend stores tensors) and a {@link FusedMath} (native or JS).
 * Legend: N = rows, C = channels, B = batch, T = time, H = heads, V = vocabulary.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  ForgeCausalAttention,
  ForgeCausalAttentionGrad,
  ForgeDropout,
  ForgeGelu,
  ForgeGeluGrad,
  ForgeLayerNorm,
  ForgeLayerNormGrad,
  ForgeSoftmaxCrossEntropy,
  ForgeSoftmaxCrossEntropyGrad,
} from '../kernel-names';
import type { FusedMath } from '../math/fused-math';
import { dropoutAttrs, expectShape, input, lastDim, numberAttr } from './kernel-checks';
import { sizeOf, withOutputs, type KernelIOFactory } from './kernel-io';

/** Kernel configs of every Forge kernel for `backendName`. */
export function fusedKernelConfigs(
  backendName: string,
  io: KernelIOFactory,
  math: FusedMath,
): KernelConfig[] {
  const layerNorm: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = ForgeLayerNorm;
    const [x, gamma, beta] = [input(k, inputs, 'x'), input(k, inputs, 'gamma'), input(k, inputs, 'beta')];
    const epsilon = numberAttr(k, attrs, 'epsilon');
    const C = lastDim(k, 'x', x.shape);
    expectShape(k, 'gamma', gamma.shape, [C]);
    expectShape(k, 'beta', beta.shape, [C]);
    const N = C === 0 ? 0 : sizeOf(x.shape) / C;
    const t = io(backend);
    const rowShape = x.shape.slice(0, -1); // [N] for x [N, C]
    const outs = [t.alloc(x.shape, 'float32'), t.alloc(rowShape, 'float32'), t.alloc(rowShape, 'float32')];
    const [y, mean, rstd] = outs.map((o) => t.writeF32(o));
    math.layerNormForward(t.readF32(x), t.readF32(gamma), t.readF32(beta), y, mean, rstd, N, C, epsilon);
    return outs;
  };

  const layerNormGrad: KernelFunc = ({ inputs, backend }) => {
    const k = ForgeLayerNormGrad;
    const [dy, x, gamma] = [input(k, inputs, 'dy'), input(k, inputs, 'x'), input(k, inputs, 'gamma')];
    const [mean, rstd] = [input(k, inputs, 'mean'), input(k, inputs, 'rstd')];
    const C = lastDim(k, 'x', x.shape);
    const N = C === 0 ? 0 : sizeOf(x.shape) / C;
    expectShape(k, 'dy', dy.shape, x.shape);
    expectShape(k, 'gamma', gamma.shape, [C]);
    if (sizeOf(mean.shape) !== N || sizeOf(rstd.shape) !== N)
      throw new Error(`${k}: mean and rstd must have ${N} elements`);
    const t = io(backend);
    const outs = [t.alloc(x.shape, 'float32'), t.alloc([C], 'float32'), t.alloc([C], 'float32')];
    const [dx, dgamma, dbeta] = outs.map((o) => t.writeF32(o));
    math.layerNormBackward(
      t.readF32(dy),
      t.readF32(x),
      t.readF32(gamma),
      t.readF32(mean),
      t.readF32(rstd),
      dx,
      dgamma,
      dbeta,
      N,
      C,
    );
    return outs;
  };

  const gelu: KernelFunc = ({ inputs, backend }) => {
    const x = input(ForgeGelu, inputs, 'x');
    const t = io(backend);
    const y = t.alloc(x.shape, 'float32');
    math.geluForward(t.readF32(x), t.writeF32(y), sizeOf(x.shape));
    return y;
  };

  const geluGrad: KernelFunc = ({ inputs, backend }) => {
    const k = ForgeGeluGrad;
    const [dy, x] = [input(k, inputs, 'dy'), input(k, inputs, 'x')];
    expectShape(k, 'dy', dy.shape, x.shape);
    const t = io(backend);
    const dx = t.alloc(x.shape, 'float32');
    math.geluBackward(t.readF32(dy), t.readF32(x), t.writeF32(dx), sizeOf(x.shape));
    return dx;
  };

  const dropout: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = ForgeDropout;
    const x = input(k, inputs, 'x');
    const { rate, seedLo, seedHi } = dropoutAttrs(k, attrs, 'rate');
    const t = io(backend);
    const y = t.alloc(x.shape, 'float32');
    math.dropout(t.readF32(x), t.writeF32(y), sizeOf(x.shape), rate, seedLo, seedHi);
    return y;
  };

  /** B, T, C and H of a qkv [B, T, 3C] input with numHeads H dividing C. */
  const attentionDims = (k: string, qkv: TensorInfo, numHeads: number) => {
    if (qkv.shape.length !== 3 || qkv.shape[2] % 3 !== 0) {
      throw new Error(`${k}: qkv must have shape [B, T, 3C], got [${qkv.shape.join(', ')}]`);
    }
    const [B, T, C3] = qkv.shape;
    const C = C3 / 3;
    if (C % numHeads !== 0) throw new Error(`${k}: numHeads ${numHeads} must divide C = ${C}`);
    return { B, T, C, H: numHeads };
  };

  const attention: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = ForgeCausalAttention;
    const qkv = input(k, inputs, 'qkv');
    const { B, T, C, H } = attentionDims(k, qkv, numberAttr(k, attrs, 'numHeads', true));
    const { rate, seedLo, seedHi } = dropoutAttrs(k, attrs, 'dropRate', true);
    const t = io(backend);
    const outs = [t.alloc([B, T, C], 'float32'), t.alloc([B, H, T, T], 'float32')];
    const [y, probs] = outs.map((o) => t.writeF32(o));
    math.attentionForward(t.readF32(qkv), y, probs, B, T, C, H, rate, seedLo, seedHi);
    return outs;
  };

  const attentionGrad: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = ForgeCausalAttentionGrad;
    const [dy, qkv, probs] = [input(k, inputs, 'dy'), input(k, inputs, 'qkv'), input(k, inputs, 'probs')];
    const { B, T, C, H } = attentionDims(k, qkv, numberAttr(k, attrs, 'numHeads', true));
    const { rate, seedLo, seedHi } = dropoutAttrs(k, attrs, 'dropRate', true);
    expectShape(k, 'dy', dy.shape, [B, T, C]);
    expectShape(k, 'probs', probs.shape, [B, H, T, T]);
    const t = io(backend);
    const dqkv = t.alloc(qkv.shape, 'float32');
    const [g, x, p] = [t.readF32(dy), t.readF32(qkv), t.readF32(probs)];
    math.attentionBackward(g, x, p, t.writeF32(dqkv), B, T, C, H, rate, seedLo, seedHi);
    return dqkv;
  };

  /** N and V of logits [N, V] with labels [N]. */
  const crossEntropyDims = (k: string, logits: TensorInfo, labels: TensorInfo) => {
    if (logits.shape.length !== 2)
      throw new Error(`${k}: logits must have shape [N, V], got [${logits.shape.join(', ')}]`);
    const [N, V] = logits.shape;
    expectShape(k, 'labels', labels.shape, [N]);
    return { N, V };
  };

  const crossEntropy: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = ForgeSoftmaxCrossEntropy;
    const [logits, labels] = [input(k, inputs, 'logits'), input(k, inputs, 'labels', 'int32')];
    const ignoreIndex = numberAttr(k, attrs, 'ignoreIndex');
    const { N, V } = crossEntropyDims(k, logits, labels);
    const t = io(backend);
    const outs = [t.alloc([N], 'float32'), t.alloc([N], 'float32')];
    return withOutputs(t, outs, () =>
      math.crossEntropyForward(
        t.readF32(logits),
        t.readI32(labels),
        t.writeF32(outs[0]),
        t.writeF32(outs[1]),
        N,
        V,
        ignoreIndex,
      ),
    );
  };

  const crossEntropyGrad: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = ForgeSoftmaxCrossEntropyGrad;
    const [dlosses, logits] = [input(k, inputs, 'dlosses'), input(k, inputs, 'logits')];
    const [labels, logsumexp] = [input(k, inputs, 'labels', 'int32'), input(k, inputs, 'logsumexp')];
    const ignoreIndex = numberAttr(k, attrs, 'ignoreIndex');
    const { N, V } = crossEntropyDims(k, logits, labels);
    expectShape(k, 'dlosses', dlosses.shape, [N]);
    expectShape(k, 'logsumexp', logsumexp.shape, [N]);
    const t = io(backend);
    const dlogits = t.alloc([N, V], 'float32');
    return withOutputs(t, dlogits, () =>
      math.crossEntropyBackward(
        t.readF32(dlosses),
        t.readF32(logits),
        t.readI32(labels),
        t.readF32(logsumexp),
        t.writeF32(dlogits),
        N,
        V,
        ignoreIndex,
      ),
    );
  };

  const kernels: Array<[string, KernelFunc]> = [
    [ForgeLayerNorm, layerNorm],
    [ForgeLayerNormGrad, layerNormGrad],
    [ForgeGelu, gelu],
    [ForgeGeluGrad, geluGrad],
    [ForgeDropout, dropout],
    [ForgeCausalAttention, attention],
    [ForgeCausalAttentionGrad, attentionGrad],
    [ForgeSoftmaxCrossEntropy, crossEntropy],
    [ForgeSoftmaxCrossEntropyGrad, crossEntropyGrad],
  ];
  return kernels.map(([kernelName, kernelFunc]) => ({ kernelName, backendName, kernelFunc }));
}
