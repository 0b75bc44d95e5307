#!/usr/bin/env node
/**
 * The cost model of a data-parallel step, fitted to bench:scaling's measured points, and its
 * projection to N = 2–64 hosts at 1, 10 and 25 Gbit/s for `small` and GPT-2 124M, for the CPU step
 * measured here and for a GPU-speed step (issue 13). The model and its assumptions:
 * scripts/lib/scaling-model.js; this prints them, the fitted constants, the model against the
 * measured points and the projection, and draws docs/scaling-projection.svg.
 *
 *   npm run bench:scaling-model [-- points.json …] [--svg docs/scaling-projection.svg]
 *     [--gpu-tflops 989] [--mfu 0.4] [--hbm-tbs 3.35]
 *
 * Without files: every docs/data/scaling-sweep-*.json (one machine's full sweep: tiny and small, every
 * link and mode; earlier machines' points are kept as scaling-measured-* and scaling-zen5-*, to pass
 * by name). A file is bench:scaling's --json output
 * (an array of points) or an object with `points`.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { countParameters, presetConfig } = require('@llm-forge/gpt');
const model = require('./lib/scaling-model');
const { chartGrid } = require('./lib/svg-chart');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv.splice(i, 2)[1] : fallback;
};
const SVG = option('svg', path.join(__dirname, '../docs/scaling-projection.svg'));
const GPU_TFLOPS = Number(option('gpu-tflops', 989)); // H100 SXM, dense bf16
const MFU = Number(option('mfu', 0.4));
const HBM_TBS = Number(option('hbm-tbs', 3.35)); // H100 SXM HBM3
const DATA_DIR = path.join(__dirname, '../docs/data');
const files = argv.length
  ? argv
  : fs
      .readdirSync(DATA_DIR)
      .filter((f) => /^scaling-sweep-.*\.json$/.test(f))
      .map((f) => path.join(DATA_DIR, f));

const HOSTS = [2, 4, 8, 16, 32, 64];
const LINKS_GBIT = [1, 10, 25];
const MODES = [
  { key: 'ddp-no-overlap', label: 'ddp, no overlap', color: '#d62728' },
  { key: 'ddp', label: 'ddp, overlap', color: '#ff7f0e' },
  { key: 'diloco', innerSteps: 50, label: 'diloco H=50', color: '#1f77b4' },
  { key: 'diloco', innerSteps: 500, label: 'diloco H=500', color: '#2ca02c' },
];
const DASH = { 1: '2,3', 10: '7,4', 25: null };
const PRESETS = [
  { preset: 'small', label: 'small (30.0M)', gpu: { rows: 32, context: 256 } },
  { preset: 'gpt2-small', label: 'GPT-2 124M', gpu: { rows: 8, context: 1024 } },
];
const CPU_SHAPE = { rows: 8, context: 256 }; // bench:scaling's shape: 8 rows of 256 tokens per host

const points = files.flatMap((f) => {
  const data = JSON.parse(fs.readFileSync(f, 'utf8'));
  return (Array.isArray(data) ? data : data.points).map((p) => ({ ...p, source: path.basename(f) }));
});
const fmt = (x, digits = 3) => Number(x.toPrecision(digits)).toLocaleString('en-US');

// --- fit ---------------------------------------------------------------------------------------
const compute = model.fitCompute(points);
const comm = model.fitComm(points);
const flops = (preset, context) => {
  const config = presetConfig(preset, { contextLength: context });
  return model.flopsPerToken(config, countParameters(config));
};
// The CPU's effective FLOP rate per host, from the measured presets (κ = FLOPs per token / rate).
const rates = Object.entries(compute.kappa).map(([preset, k]) => {
  const ctx = points.find((p) => p.preset === preset).context;
  return flops(preset, ctx) / k;
});
const cpuFlops = rates.reduce((a, b) => a + b, 0) / rates.length;

console.log(
  `Cost model of a step (scripts/lib/scaling-model.js), fitted to ${points.length} measured points:`,
);
for (const f of files) console.log(`  ${path.relative(process.cwd(), f)}`);
console.log(`
  compute    t_c = κ · tokens per host              (κ: the mean of computeMs / tokens over one-host points)
  optimizer  t_o = σ · parameters                   (σ: least squares of stepMs − computeMs − commMs, one host)
  all-reduce t_ar = X/(η·BW) + 2(N−1)·α + γ·X        (X = 2(N−1)/N · 4P bytes sent per rank; least squares,
                                                     relative errors, over multi-host ddp points without overlap)
  ddp, no overlap  t = t_c + t_o + t_ar
  ddp, overlap     t = t_c + t_o + max(0, t_ar − t_show − (2/3)·t_c) + t_show
                   t_show = the last 8 MiB bucket's all-reduce, plus γ·X on the CPU step (one core per host
                   runs both the backward and the ring); on the GPU step all of the ring can hide
  diloco H         t = t_c + t_o + (t_ar + t_o)/H     (inner steps send nothing)
  efficiency(N) = t(1) / t(N)                        (weak scaling, every host equally fast)
Assumptions: f32 gradients on the wire (bf16 would halve X); one ring, each hop its own link of BW
(no shared switch, no stragglers); the GPU step's ring is this one (same α, γ on the host CPU) unless
marked "wire only" (γ = 0, as NCCL's GPU-side reduction over the NIC would be).
`);
console.log('Fitted constants:');
for (const [preset, k] of Object.entries(compute.kappa)) {
  console.log(
    `  κ(${preset}) = ${fmt(k * 1e3)} ms/token per host (${fmt(flops(preset, 256) / k / 1e9)} GFLOP/s)`,
  );
}
console.log(`  σ = ${fmt(compute.sigma * 1e9)} ns per parameter (optimizer, clipping and copies)`);
console.log(
  `  α = ${fmt(comm.latency * 1e3)} ms per ring hop, γ = ${fmt(comm.cpuPerByte * 1e9)} ns/byte ` +
    `(${fmt(1 / comm.cpuPerByte / 1e9)} GB/s), η = ${fmt(comm.linkEfficiency)} ` +
    `(fitted: ${comm.fitted.join(', ')} from ${comm.points} point${comm.points === 1 ? '' : 's'}` +
    `${comm.fitted.includes('α') ? '' : '; α is not determined by these points and is taken as 0'}` +
    `${comm.fitted.includes('η') ? '' : '; η fixed at 1'})`,
);
console.log(
  `  CPU effective rate ${fmt(cpuFlops / 1e9)} GFLOP/s per host (the mean over the measured presets)`,
);

// --- the model against the measured points -----------------------------------------------------
const measuredStep = (p) => ({
  mode: p.mode,
  innerSteps: p.innerSteps,
  hosts: p.hosts,
  computeSeconds: compute.kappa[p.preset] * (p.globalBatch / p.hosts) * p.context,
  optimizerSeconds: compute.sigma * p.params,
  gradientBytes: 4 * p.params,
  bwBytes: p.linkMbit ? (p.linkMbit * 1e6) / 8 : Infinity,
  cpuShared: true,
});
console.log('\nModel against the measured multi-host points (efficiency):');
console.log('| preset | hosts | link | mode | measured | model | measured comm ms | model comm ms |');
console.log('|---|---|---|---|---|---|---|---|');
const measuredMulti = points.filter((p) => p.hosts > 1);
for (const p of measuredMulti) {
  const s = measuredStep(p);
  const modelled = model.stepSeconds(s, comm) - s.computeSeconds - s.optimizerSeconds;
  console.log(
    `| ${p.preset} | ${p.hosts} | ${p.linkMbit ? `${p.linkMbit} Mbit/s` : 'unshaped'} | ${modeName(p)} | ` +
      `${p.efficiency.toFixed(2)} | ${model.efficiency(s, comm).toFixed(2)} | ${fmt(p.commMs, 4)} | ${fmt(modelled * 1e3, 4)} |`,
  );
}

function modeName(p) {
  return p.mode === 'diloco' ? `diloco H=${p.innerSteps}` : p.mode;
}

// --- projection --------------------------------------------------------------------------------
/** The step of `preset` on `kind` ('cpu' | 'gpu' | 'gpu-wire') for a mode, N and link. */
function projectedStep({ preset, gpu }, kind, mode, hosts, gbit) {
  const params = countParameters(presetConfig(preset));
  const shape = kind === 'cpu' ? CPU_SHAPE : gpu;
  const tokens = shape.rows * shape.context;
  const computeSeconds =
    kind === 'cpu'
      ? (compute.kappa[preset] ?? flops(preset, shape.context) / cpuFlops) * tokens
      : (flops(preset, shape.context) * tokens) / (GPU_TFLOPS * 1e12 * MFU);
  // GPU: a fused AdamW reads and writes ~32 bytes per parameter from HBM (p, g, m, v).
  const optimizerSeconds = kind === 'cpu' ? compute.sigma * params : (32 * params) / (HBM_TBS * 1e12);
  return {
    step: {
      mode: mode.key,
      innerSteps: mode.innerSteps,
      hosts,
      computeSeconds,
      optimizerSeconds,
      gradientBytes: 4 * params,
      bwBytes: (gbit * 1e9) / 8,
      cpuShared: kind === 'cpu',
    },
    comm: kind === 'gpu-wire' ? { ...comm, cpuPerByte: 0 } : comm,
  };
}

const KINDS = [
  { kind: 'cpu', label: 'CPU step measured here' },
  { kind: 'gpu', label: 'GPU step, this ring' },
  { kind: 'gpu-wire', label: 'GPU step, wire only (γ = 0)' },
];
console.log('\nAssumed steps (one host):');
for (const p of PRESETS) {
  for (const { kind, label } of KINDS.slice(0, 2)) {
    const { step } = projectedStep(p, kind, MODES[0], 1, 10);
    const shape = kind === 'cpu' ? CPU_SHAPE : p.gpu;
    const how =
      kind === 'cpu'
        ? compute.kappa[p.preset]
          ? 'κ measured'
          : `${fmt(flops(p.preset, shape.context) / 1e6)} MFLOP/token at the CPU's ${fmt(cpuFlops / 1e9)} GFLOP/s`
        : `${fmt(flops(p.preset, shape.context) / 1e6)} MFLOP/token, ${GPU_TFLOPS} TFLOP/s × MFU ${MFU} (one H100 SXM, bf16)`;
    console.log(
      `  ${p.label}, ${label}: B=${shape.rows}, T=${shape.context}: compute ${fmt(step.computeSeconds * 1e3)} ms ` +
        `+ optimizer ${fmt(step.optimizerSeconds * 1e3)} ms (${how}); gradient ${fmt(step.gradientBytes / 1e6, 4)} MB`,
    );
  }
}

const projection = [];
for (const p of PRESETS) {
  for (const { kind } of KINDS) {
    for (const gbit of LINKS_GBIT) {
      for (const mode of MODES) {
        const eff = HOSTS.map((n) => {
          const { step, comm: c } = projectedStep(p, kind, mode, n, gbit);
          return model.efficiency(step, c);
        });
        projection.push({ preset: p.preset, kind, gbit, mode: mode.label, efficiency: eff });
      }
    }
  }
}
console.log('\nProjected efficiency (weak scaling):');
console.log(`| model | step | link | mode | ${HOSTS.map((n) => `N=${n}`).join(' | ')} |`);
console.log(`|---|---|---|---|${HOSTS.map(() => '---').join('|')}|`);
for (const r of projection) {
  const p = PRESETS.find((x) => x.preset === r.preset);
  const k = KINDS.find((x) => x.kind === r.kind);
  console.log(
    `| ${p.label} | ${k.label} | ${r.gbit} Gbit/s | ${r.mode} | ${r.efficiency.map((e) => e.toFixed(2)).join(' | ')} |`,
  );
}

/** The link (Gbit/s) at which `mode` reaches `target` efficiency on N = 64 hosts (bisection), or Infinity. */
function linkFor(p, kind, mode, target) {
  const eff = (gbit) => {
    const { step, comm: c } = projectedStep(p, kind, mode, 64, gbit);
    return model.efficiency(step, c);
  };
  if (eff(1e6) < target) return Infinity;
  if (eff(0.1) >= target) return 0; // printed as "< 0.1"
  let [lo, hi] = [0.1, 1e6];
  for (let i = 0; i < 60; i++) {
    const mid = Math.sqrt(lo * hi);
    if (eff(mid) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}
console.log(
  '\nLink needed for efficiency 0.9 at N = 64 (Gbit/s; "never": the CPU per byte alone costs more):',
);
console.log(`| model | step | ${MODES.map((m) => m.label).join(' | ')} |`);
console.log(`|---|---|${MODES.map(() => '---').join('|')}|`);
for (const p of PRESETS) {
  for (const { kind, label } of KINDS) {
    const cells = MODES.map((m) => {
      const g = linkFor(p, kind, m, 0.9);
      return g === 0 ? '< 0.1' : Number.isFinite(g) ? fmt(g, 2) : 'never';
    });
    console.log(`| ${p.label} | ${label} | ${cells.join(' | ')} |`);
  }
}

// --- picture -----------------------------------------------------------------------------------
const panels = [];
for (const { kind, label } of KINDS) {
  for (const p of PRESETS) {
    const series = projection
      .filter((r) => r.preset === p.preset && r.kind === kind)
      .map((r) => ({
        name: `${r.mode}, ${r.gbit} Gbit/s`,
        color: MODES.find((m) => m.label === r.mode).color,
        dash: DASH[r.gbit],
        width: 1.5,
        points: HOSTS.map((n, i) => [n, r.efficiency[i]]),
      }));
    const measured =
      kind === 'cpu'
        ? measuredMulti
            .filter((m) => m.preset === p.preset)
            .map((m) => ({
              name: `measured: ${modeName(m)}, ${m.linkMbit ? `${m.linkMbit / 1e3} Gbit/s` : 'unshaped'}`,
              color: (
                MODES.find((x) => x.key === m.mode && (x.innerSteps ?? 50) === (m.innerSteps ?? 50)) ??
                MODES[0]
              ).color,
              marker: 'square',
              line: false,
              points: [[m.hosts, m.efficiency]],
            }))
        : [];
    const legend = [
      ...MODES.map((m) => ({ name: m.label, color: m.color, points: [] })),
      ...LINKS_GBIT.map((g) => ({ name: `${g} Gbit/s`, color: '#555', dash: DASH[g], points: [] })),
    ];
    panels.push({
      series: [...series, ...measured, ...legend],
      options: {
        title: `${p.label}: ${label}`,
        xLabel: 'hosts N (log2)',
        yLabel: 'efficiency',
        xLog2: true,
        xTicks: HOSTS,
        yMin: 0,
        yMax: 1,
        legendFilter: (s) => s.points.length === 0 || s.line === false,
        legendWidth: 230,
      },
    });
  }
}
const caption = [
  `Weak-scaling efficiency = tokens/s(N) / (N x tokens/s(1)). Lines: the cost model fitted to bench:scaling's points (squares: measured).`,
  `GPU step: ${GPU_TFLOPS} TFLOP/s x MFU ${MFU} (one H100 SXM, bf16). f32 gradients; one ring. npm run bench:scaling-model (scripts/scaling-model.js)`,
];
fs.writeFileSync(SVG, chartGrid(panels, { columns: 2, width: 600, height: 330, caption }));
console.log(`\nwrote ${path.relative(process.cwd(), SVG)}`);
