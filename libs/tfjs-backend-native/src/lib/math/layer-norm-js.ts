/**
 * LayerNorm over rows of C, in plain JavaScript (the fallback of native/layer-norm.cc).
 * Legend: N = rows, C = channels.
 */

/** y = (x - mean) * rstd * gamma + beta per row; writes mean [N] and rstd [N] = 1/sqrt(var + eps). */
export function layerNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  y: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
  epsilon: number,
): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += x[o + c];
    const m = Math.fround(sum / C);
    let sq = 0;
    for (let c = 0; c < C; c++) {
      const d = x[o + c] - m;
      sq += d * d;
    }
    const s = Math.fround(1 / Math.sqrt(sq / C + epsilon));
    for (let c = 0; c < C; c++) y[o + c] = (x[o + c] - m) * s * gamma[c] + beta[c];
    mean[r] = m;
    rstd[r] = s;
  }
}

/**
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, xhat = (x - mean) * rstd;
 * dgamma = sum over rows of dy * xhat; dbeta = sum over rows of dy.
 */
export function layerNormBackward(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
  N: number,
  C: number,
): void {
  const dg = new Float64Array(C);
  const db = new Float64Array(C);
  for (let r = 0; r < N; r++) {
    const o = r * C;
    const m = mean[r];
    const s = rstd[r];
    let gSum = 0;
    let gxSum = 0;
    for (let c = 0; c < C; c++) {
      const xhat = (x[o + c] - m) * s;
      const g = dy[o + c] * gamma[c];
      gSum += g;
      gxSum += g * xhat;
      dg[c] += dy[o + c] * xhat;
      db[c] += dy[o + c];
    }
    const gMean = gSum / C;
    const gxMean = gxSum / C;
    for (let c = 0; c < C; c++) {
      const xhat = (x[o + c] - m) * s;
      dx[o + c] = (dy[o + c] * gamma[c] - gMean - xhat * gxMean) * s;
    }
  }
  dgamma.set(dg);
  dbeta.set(db);
}
