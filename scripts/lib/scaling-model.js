/**
 * The cost model of one data-parallel step (issue 13), fitted to bench:scaling's measured points and
 * projected to more hosts, faster links and a GPU-speed compute step (scripts/scaling-model.js).
 *
 * N = hosts, S = gradient bytes (4 × parameters, f32), X = bytes one rank sends in a ring all-reduce
 * of S = 2(N−1)/N · S, BW = link bytes/s, tokens = tokens per host per step (weak scaling).
 *
 *   compute   t_c   = κ · tokens                         κ: seconds per token on one host
 *   optimizer t_o   = σ · parameters                     σ: AdamW, clipping, copies per parameter
 *   all-reduce t_ar = X / (η·BW) + 2(N−1)·α + γ·X          α: latency per ring hop, γ: CPU per byte,
 *                                                        η: the link's payload share of its rate
 *   ddp, no overlap:  t = t_c + t_o + t_ar
 *   ddp, overlap:     t = t_c + t_o + max(0, t_hide − β·t_c) + t_show
 *                     β = 2/3 (backward is twice the forward), t_show = what cannot hide: the last
 *                     bucket's all-reduce, and, where compute and ring share the host's one core
 *                     (the CPU step), the CPU per byte γ·X; t_hide = t_ar − t_show
 *   diloco H:         t = t_c + t_o + (t_ar + t_outer)/H
 *                     one all-reduce of S every H steps, inner steps meet nowhere (the training
 *                     README); t_outer (the outer Nesterov step, a pass over the parameters) ≈ t_o
 *   efficiency(N) = tokens/s(N) / (N · tokens/s(1)) = t(1) / t(N)   (weak scaling; t_ar(1) = 0)
 *
 * Not modelled: stragglers (every host equally fast), contention for a shared switch (each ring hop
 * has its own link at BW), tree or hierarchical all-reduce, compression (bf16 on the wire would
 * halve S).
 */
'use strict';

const BACKWARD_FRACTION = 2 / 3;

/** Solves A x = b (A square) by Gaussian elimination with partial pivoting. */
function solve(A, b) {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (Math.abs(M[p][c]) < 1e-300)
      throw new Error(`singular system: column ${c} is not determined by the points`);
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

/**
 * Least squares: the x minimising Σ_i ((X_i · x − y_i) / scale_i)², by the normal equations on
 * columns scaled to unit norm (the features differ by many orders of magnitude). `scale` defaults to
 * 1 (absolute errors); pass y to weigh relative errors.
 */
function leastSquares(X, y, scale = y.map(() => 1)) {
  const cols = X[0].length;
  if (X.length < cols) throw new Error(`${X.length} points cannot determine ${cols} constants`);
  const rows = X.map((r, i) => r.map((v) => v / scale[i]));
  const ys = y.map((v, i) => v / scale[i]);
  const norms = Array.from({ length: cols }, (_, j) => Math.hypot(...rows.map((r) => r[j])) || 1);
  const Z = rows.map((r) => r.map((v, j) => v / norms[j]));
  const A = Array.from({ length: cols }, (_, i) =>
    Array.from({ length: cols }, (_, j) => Z.reduce((s, r) => s + r[i] * r[j], 0)),
  );
  const b = Array.from({ length: cols }, (_, i) => Z.reduce((s, r, k) => s + r[i] * ys[k], 0));
  return solve(A, b).map((v, j) => v / norms[j]);
}

/** Bytes one rank sends in a ring all-reduce of `bytes` over `hosts`: 2(N−1)/N · S. */
const ringBytesPerRank = (bytes, hosts) => (2 * (hosts - 1) * bytes) / hosts;

/**
 * Seconds of a ring all-reduce of `bytes` over `hosts` links of `bwBytes` bytes/s (Infinity:
 * unshaped), split into wire (bandwidth and latency) and cpu (per byte) parts.
 */
function allReduceSeconds(bytes, hosts, bwBytes, { latency, cpuPerByte, linkEfficiency = 1 }) {
  if (hosts <= 1) return { wire: 0, cpu: 0, total: 0 };
  const sent = ringBytesPerRank(bytes, hosts);
  const wire = sent / (linkEfficiency * bwBytes) + 2 * (hosts - 1) * latency;
  const cpu = cpuPerByte * sent;
  return { wire, cpu, total: wire + cpu };
}

/**
 * Seconds of one step. step: { mode: 'ddp-no-overlap' | 'ddp' | 'diloco', innerSteps, hosts,
 * computeSeconds, optimizerSeconds, gradientBytes, bwBytes, cpuShared (true: the ring's CPU work
 * competes with compute for the host's core), bucketBytes }; comm: { latency, cpuPerByte,
 * linkEfficiency }.
 */
function stepSeconds(step, comm) {
  const { mode, hosts, computeSeconds: tc, optimizerSeconds: to, gradientBytes: S, bwBytes } = step;
  const ar = allReduceSeconds(S, hosts, bwBytes, comm);
  if (mode === 'ddp-no-overlap') return tc + to + ar.total;
  if (mode === 'ddp') {
    const last = allReduceSeconds(Math.min(S, step.bucketBytes ?? 8 * 2 ** 20), hosts, bwBytes, comm);
    const show = last.total + (step.cpuShared ? ar.cpu - last.cpu : 0);
    return tc + to + Math.max(0, ar.total - show - BACKWARD_FRACTION * tc) + show;
  }
  if (mode === 'diloco') {
    const H = step.innerSteps;
    return tc + to + (ar.total + to) / H;
  }
  throw new Error(`unknown mode ${mode}`);
}

/** Weak-scaling efficiency t(1) / t(N) of `step` on `step.hosts` hosts. */
function efficiency(step, comm) {
  return stepSeconds({ ...step, hosts: 1 }, comm) / stepSeconds(step, comm);
}

/**
 * Per preset: κ (s/token on one host) = mean over its one-host points of computeMs / tokens, and σ
 * (s/parameter) from stepMs − computeMs − commMs of one-host ddp points, by least squares over presets.
 * points: bench:scaling's JSON points.
 */
function fitCompute(points) {
  const single = points.filter((p) => p.hosts === 1);
  const perHost = (p) => (p.globalBatch / p.hosts) * p.context;
  const presets = [...new Set(points.map((p) => p.preset))];
  const kappa = {};
  for (const preset of presets) {
    const own = single.filter((p) => p.preset === preset);
    const from = own.length ? own : points.filter((p) => p.preset === preset);
    kappa[preset] = from.reduce((s, p) => s + p.computeMs / 1e3 / perHost(p), 0) / from.length;
  }
  // A DiLoCo flow's steps share one wall time, start and final evaluation included: not per-step.
  const withStep = single.filter((p) => Number.isFinite(p.stepMs) && p.mode !== 'diloco');
  const sigma = withStep.length
    ? Math.max(
        0,
        leastSquares(
          withStep.map((p) => [p.params]),
          withStep.map((p) => (p.stepMs - p.computeMs - p.commMs) / 1e3),
        )[0],
      )
    : 0;
  return { kappa, sigma };
}

/**
 * α, γ and 1/η by least squares (relative errors) over multi-host points without overlap:
 * commMs/1e3 = 2(N−1)·α + γ·X + X/BW · (1/η), X the measured bytes per rank; unshaped links add
 * nothing to the third column. When that makes α negative (points of one ring size, where α is only
 * an intercept), α is taken as 0 and γ, η fitted. With fewer than 3 points, or no shaped link, η is
 * fixed at 1.
 */
function fitComm(points) {
  const usable = points.filter((p) => p.hosts > 1 && p.bytesPerRank > 0 && p.commMs > 0);
  const noOverlap = usable.filter((p) => p.mode === 'ddp-no-overlap');
  const from = noOverlap.length ? noOverlap : usable.filter((p) => p.mode === 'ddp');
  const shaped = from.some((p) => p.linkMbit);
  const wireSeconds = (p) => (p.linkMbit ? p.bytesPerRank / ((p.linkMbit * 1e6) / 8) : 0);
  const y = from.map((p) => p.commMs / 1e3);
  if (shaped && from.length >= 3) {
    const X = from.map((p) => [2 * (p.hosts - 1), p.bytesPerRank, wireSeconds(p)]);
    const [latency, cpuPerByte, inverseEta] = leastSquares(X, y, y);
    // Points that do not span enough hosts, sizes and links leave the system (nearly) singular, and
    // least squares then returns negative constants: fall back to fewer constants.
    if (latency >= 0 && cpuPerByte >= 0 && inverseEta > 0) {
      return {
        latency,
        cpuPerByte,
        linkEfficiency: 1 / inverseEta,
        points: from.length,
        fitted: ['α', 'γ', 'η'],
      };
    }
    // Points of one ring size (N = 2 only) make α an intercept, which noise can push below 0: the
    // shaped links still tell the link's share η from the CPU per byte, so fit those two with α = 0.
    const [cpuOnly, inverseEtaOnly] = leastSquares(
      from.map((p) => [p.bytesPerRank, wireSeconds(p)]),
      y,
      y,
    );
    if (cpuOnly >= 0 && inverseEtaOnly > 0) {
      return {
        latency: 0,
        cpuPerByte: cpuOnly,
        linkEfficiency: 1 / inverseEtaOnly,
        points: from.length,
        fitted: ['γ', 'η'],
      };
    }
  }
  const X = from.map((p) => [2 * (p.hosts - 1), p.bytesPerRank]);
  const rest = from.map((p, i) => y[i] - wireSeconds(p));
  if (from.length >= 2) {
    const [latency, cpuPerByte] = leastSquares(X, rest, y);
    if (latency >= 0 && cpuPerByte >= 0) {
      return { latency, cpuPerByte, linkEfficiency: 1, points: from.length, fitted: ['α', 'γ'] };
    }
  }
  if (from.length >= 1) {
    // α cannot be told from γ (one point, or points of one shape): all of the rest is CPU per byte.
    const [cpuPerByte] = leastSquares(
      from.map((p) => [p.bytesPerRank]),
      rest,
      y,
    );
    return {
      latency: 0,
      cpuPerByte: Math.max(0, cpuPerByte),
      linkEfficiency: 1,
      points: from.length,
      fitted: ['γ'],
    };
  }
  throw new Error('no multi-host ddp point with bytes and communication time to fit the ring');
}

/** Forward + backward FLOPs per token: 6·P + 12·L·T·d (PaLM's appendix B; P all parameters). */
const flopsPerToken = (config, params) =>
  6 * params + 12 * config.nLayers * config.contextLength * config.embDim;

module.exports = {
  BACKWARD_FRACTION,
  leastSquares,
  ringBytesPerRank,
  allReduceSeconds,
  stepSeconds,
  efficiency,
  fitCompute,
  fitComm,
  flopsPerToken,
};
