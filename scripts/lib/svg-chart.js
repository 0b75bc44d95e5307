/**
 * A line chart as SVG text, for the pictures in docs/ (bench:diloco, bench:scaling-model): no
 * dependencies, a linear or log2 x axis, lines and/or point markers per series, a legend.
 */
'use strict';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** Escapes text for SVG. */
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** About five round ticks between lo and hi. */
function niceTicks(lo, hi, count = 5) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/**
 * One chart panel's SVG elements (no <svg> wrapper), at (x0, y0) of size w × h.
 * series: [{ name, points: [[x, y]], color?, dash?, line? (default true), marker? ('circle'|'square'|null) }]
 * options: { title, xLabel, yLabel, xLog2, yMin, yMax, xTicks, legend ('right'|'none'),
 *   legendFilter (which series the legend lists; default all), legendWidth (px, default 190) }
 */
function panel(series, options, x0, y0, w, h) {
  const left = 58,
    right = options.legend === 'none' ? 12 : (options.legendWidth ?? 190),
    top = 28,
    bottom = 44;
  const pw = w - left - right,
    ph = h - top - bottom;
  const fx = options.xLog2 ? Math.log2 : (x) => x;
  const xs = series.flatMap((s) => s.points.map((p) => fx(p[0])));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
  const ymin = options.yMin ?? Math.min(...ys),
    ymax = options.yMax ?? Math.max(...ys);
  const X = (x) => x0 + left + ((fx(x) - xmin) / (xmax - xmin || 1)) * pw;
  const Y = (y) => y0 + top + (1 - (Math.min(Math.max(y, ymin), ymax) - ymin) / (ymax - ymin || 1)) * ph;
  const out = [];
  const inLegend = options.legendFilter ?? (() => true);
  let entries = 0;
  out.push(
    `<text x="${x0 + left + pw / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(options.title ?? '')}</text>`,
  );
  out.push(`<rect x="${x0 + left}" y="${y0 + top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  const xTicks = options.xTicks ?? (options.xLog2 ? [] : niceTicks(xmin, xmax));
  for (const t of xTicks) {
    out.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${y0 + top}" y2="${y0 + top + ph}" stroke="#eee"/>`);
    out.push(
      `<text x="${X(t)}" y="${y0 + top + ph + 15}" text-anchor="middle">${esc(t.toLocaleString('en-US'))}</text>`,
    );
  }
  for (const t of niceTicks(ymin, ymax)) {
    out.push(`<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 + left - 5}" y="${Y(t) + 4}" text-anchor="end">${esc(t)}</text>`);
  }
  out.push(
    `<text x="${x0 + left + pw / 2}" y="${y0 + h - 8}" text-anchor="middle">${esc(options.xLabel ?? '')}</text>`,
  );
  out.push(
    `<text transform="translate(${x0 + 14},${y0 + top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel ?? '')}</text>`,
  );
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (s.line !== false && pts.length > 1) {
      const d = pts.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.8}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      );
    }
    for (const p of s.marker ? pts : []) out.push(marker(s.marker, X(p[0]), Y(p[1]), color));
    if (options.legend !== 'none' && inLegend(s)) {
      const ly = y0 + top + 8 + entries++ * 16,
        lx = x0 + left + pw + 10;
      if (s.line !== false)
        out.push(
          `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
        );
      if (s.marker) out.push(marker(s.marker, lx + 11, ly, color));
      out.push(`<text x="${lx + 28}" y="${ly + 4}">${esc(s.name)}</text>`);
    }
  });
  return out.join('\n');
}

function marker(kind, x, y, color) {
  return kind === 'square'
    ? `<rect x="${(x - 4).toFixed(1)}" y="${(y - 4).toFixed(1)}" width="8" height="8" fill="${color}" stroke="#000" stroke-width="0.8"/>`
    : `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="${color}" stroke="#000" stroke-width="0.8"/>`;
}

/** A grid of panels ([{ series, options }]) as one SVG document, `columns` panels wide; caption: a line or lines. */
function chartGrid(panels, { columns = 1, width = 640, height = 360, caption } = {}) {
  const rows = Math.ceil(panels.length / columns);
  const lines = caption === undefined ? [] : [].concat(caption);
  const totalH = rows * height + lines.length * 16 + (lines.length ? 8 : 0);
  const body = panels.map((p, i) =>
    panel(p.series, p.options, (i % columns) * width, Math.floor(i / columns) * height, width, height),
  );
  lines.forEach((line, i) =>
    body.push(`<text x="8" y="${rows * height + 16 * (i + 1)}" fill="#555">${esc(line)}</text>`),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * width}" height="${totalH}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>\n',
  ].join('\n');
}

/** One panel as an SVG document. */
const lineChart = (series, options, size) => chartGrid([{ series, options }], size);

module.exports = { lineChart, chartGrid, niceTicks };
