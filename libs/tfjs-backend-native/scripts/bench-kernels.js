#!/usr/bin/env node
/**
 * Kernel benchmark of @llm-forge/tfjs-backend-native: GEMM GFLOP/s and milliseconds per fused
 * kernel at GPT-2-small-like sizes (B=4, T=256, C=384, H=6, V=50257), per backend.
 *
 *   npx tsc -b libs/tfjs-backend-native/tsconfig.lib.json
 *   node libs/tfjs-backend-native/scripts/bench-kernels.js [--backends native,wasm,cpu] [--reps 5]
 *
 * Needs the compiled dist/ (and build/Release for native). Prints one table per section; the
 * median of --reps timed runs after one warm-up. Sizes too slow for a backend are skipped.
 */
'use strict';

const os = require('os');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');

const dist = path.resolve(__dirname, '..', 'dist', 'index.js');
let lib;
try {
  lib = require(dist);
} catch (error) {
  console.error(
    `cannot load ${dist}: ${error.message}\nbuild it first: npx tsc -b libs/tfjs-backend-native/tsconfig.lib.json`,
  );
  process.exit(1);
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const REPS = Number(arg('reps', '5'));
const [B, T, C, H, V] = [4, 256, 384, 6, 50257];
const N = B * T;

/** Median milliseconds of fn over reps runs after a warm-up; fn returns tensors to dispose. */
function time(fn, reps = REPS) {
  tf.dispose(fn());
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = fn();
    const outs = Array.isArray(out) ? out : [out];
    outs.forEach((o) => o.dataSync()); // wait for the values (no-op on synchronous backends)
    times.push(performance.now() - t0);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function randn(shape, scale = 1) {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), scale);
}

const run = (name, inputs, attrs = {}) => tf.engine().runKernel(name, inputs, attrs);

async function gemmRows(backend) {
  const shapes = [
    { label: '1024x384 @ 384x1536', M: 1024, K: 384, N: 1536, transposeB: false },
    { label: '1024x384 @ (50257x384)^T', M: 1024, K: 384, N: V, transposeB: true },
  ];
  const rows = [];
  for (const s of shapes) {
    const flops = 2 * s.M * s.K * s.N;
    if (backend === 'cpu' && flops > 2e9) {
      rows.push([backend, s.label, 'skipped (too slow)', '']);
      continue;
    }
    const a = randn([s.M, s.K]);
    const b = randn(s.transposeB ? [s.N, s.K] : [s.K, s.N]);
    const reps = backend === 'native' ? REPS : backend === 'wasm' && s.N > 10000 ? 1 : Math.min(REPS, 2);
    const ms = time(() => tf.matMul(a, b, false, s.transposeB), reps);
    rows.push([backend, s.label, (flops / ms / 1e6).toFixed(1), ms.toFixed(1)]);
    tf.dispose([a, b]);
  }
  return rows;
}

function fusedRows(backend) {
  const slow = backend !== 'native';
  const reps = slow ? Math.min(REPS, 2) : REPS;
  const x = randn([N, C]);
  const [gamma, beta] = [tf.ones([C]), tf.zeros([C])];
  const h = randn([N, 4 * C]);
  const qkv = randn([B, T, 3 * C]);
  const logits = randn([N, V], 2);
  const labels = tf.tensor1d(
    Array.from({ length: N }, (_, i) => (i * 7919) % V),
    'int32',
  );
  const [ln, mean, rstd] = run(lib.ForgeLayerNorm, { x, gamma, beta }, { epsilon: 1e-5 });
  const [att, probs] = run(lib.ForgeCausalAttention, { qkv }, { numHeads: H });
  const [losses, lse] = run(lib.ForgeSoftmaxCrossEntropy, { logits, labels }, { ignoreIndex: -100 });
  const emb = randn([V, C]);
  const ids = tf.tensor1d(
    Array.from({ length: N }, (_, i) => (i * 104729) % V),
    'int32',
  );
  const heads = randn([B, T, H, C / H]);
  const scores = randn([B, H, T, T]);
  const cases = [
    ['LayerNorm fwd [1024, 384]', () => run(lib.ForgeLayerNorm, { x, gamma, beta }, { epsilon: 1e-5 })],
    ['LayerNorm bwd', () => run(lib.ForgeLayerNormGrad, { dy: ln, x, gamma, mean, rstd })],
    ['GELU fwd [1024, 1536]', () => run(lib.ForgeGelu, { x: h })],
    ['GELU bwd', () => run(lib.ForgeGeluGrad, { dy: h, x: h })],
    [
      'CausalAttention fwd [4, 256, 1152], H=6',
      () => run(lib.ForgeCausalAttention, { qkv }, { numHeads: H }),
    ],
    [
      'CausalAttention bwd',
      () => run(lib.ForgeCausalAttentionGrad, { dy: att, qkv, probs }, { numHeads: H }),
    ],
    [
      'SoftmaxCrossEntropy fwd [1024, 50257]',
      () => run(lib.ForgeSoftmaxCrossEntropy, { logits, labels }, { ignoreIndex: -100 }),
    ],
    [
      'SoftmaxCrossEntropy bwd',
      () =>
        run(
          lib.ForgeSoftmaxCrossEntropyGrad,
          { dlosses: losses, logits, labels, logsumexp: lse },
          { ignoreIndex: -100 },
        ),
    ],
    ['UnsortedSegmentSum [1024, 384] -> 50257 (embedding grad)', () => tf.unsortedSegmentSum(x, ids, V)],
    ['gather 1024 rows of [50257, 384]', () => tf.gather(emb, ids)],
    ['Softmax [4, 6, 256, 256]', () => tf.softmax(scores)],
    ['Transpose [4, 256, 6, 64] -> [4, 6, 256, 64]', () => tf.transpose(heads, [0, 2, 1, 3])],
  ];
  const rows = cases.map(([label, fn]) => [backend, label, time(fn, reps).toFixed(2)]);
  tf.dispose([
    x,
    gamma,
    beta,
    h,
    qkv,
    logits,
    labels,
    ln,
    mean,
    rstd,
    att,
    probs,
    losses,
    lse,
    emb,
    ids,
    heads,
    scores,
  ]);
  return rows;
}

function flatRows() {
  const n = 30_000_000; // about the parameter count of a 6-layer, 384-wide GPT with a 50257 vocabulary
  const [p, g, m, v] = [0, 1, 2, 3].map(() => new Float32Array(n).fill(0.01));
  const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };
  const t = (fn) => {
    fn();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) fn();
    return ((performance.now() - t0) / 3).toFixed(1);
  };
  return [
    [
      lib.nativeAddonStatus().loaded ? 'native' : 'javascript',
      'adamwStep 30M parameters',
      t(() => lib.adamwStep(p, g, m, v, hyper)),
    ],
    ['', 'sumOfSquares 30M', t(() => lib.sumOfSquares(g))],
  ];
}

function table(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${title}\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  rows.forEach((r) => console.log(line(r)));
}

async function main() {
  const status = lib.nativeAddonStatus();
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.availableParallelism()} threads, node ${process.version}`,
  );
  console.log(
    `native addon: ${status.loaded ? `loaded, ${status.numThreads} threads, OpenBLAS core ${status.blasCore}` : `not loaded (${status.error})`}`,
  );
  const wanted = arg('backends', 'native,wasm,cpu').split(',');
  const backends = wanted.filter((b) => b !== 'native' || status.loaded);
  const gemm = [];
  const fused = [];
  for (const backend of backends) {
    await lib.initBackend(backend);
    gemm.push(...(await gemmRows(backend)));
    fused.push(...fusedRows(backend));
  }
  table('GEMM (tf.matMul, float32)', ['backend', 'shape', 'GFLOP/s', 'ms'], gemm);
  table(
    `Kernels at B=${B}, T=${T}, C=${C}, H=${H}, V=${V} (wasm and cpu: JavaScript kernels)`,
    ['backend', 'kernel', 'ms'],
    fused,
  );
  table('Flat optimizer arithmetic', ['implementation', 'operation', 'ms'], flatRows());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
