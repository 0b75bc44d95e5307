/**
 * Causal self-attention core in plain JavaScript (the fallback of native/attention.cc), touching
 * only the unmasked lower triangle. Legend: B = batch, T = time, C = channels, H = heads,
 * D = C / H. qkv is [B, T, 3C] = [q | k | v], head h owning columns h*D .. (h+1)*D of each part.
 * With dropRate > 0, V is multiplied by Pd = P o M / (1 - dropRate), M the mask of dropout-js.ts at
 * index ((b H + h) T + i) T + j (as native/attention.cc); probs keeps P, and backward draws M again.
 */
import { dropoutMask, keep } from './dropout-js';

/** probs [B, H, T, T] = causal softmax(q k^T / sqrt(D)); y [B, T, C] = dropout(probs) v, heads merged. */
export function attentionForward(
  qkv: Float32Array,
  y: Float32Array,
  probs: Float32Array,
  B: number,
  T: number,
  C: number,
  H: number,
  dropRate = 0,
  seedLo = 0,
  seedHi = 0,
): void {
  const drop = dropoutMask(dropRate, seedLo, seedHi);
  const D = C / H;
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(D);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const q = (b * T + i) * C3 + h * D;
        const p = ((b * H + h) * T + i) * T;
        let mx = -Infinity;
        for (let j = 0; j <= i; j++) {
          const k = (b * T + j) * C3 + C + h * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += qkv[q + d] * qkv[k + d];
          s *= scale;
          probs[p + j] = s;
          if (s > mx) mx = s;
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) {
          const e = Math.exp(probs[p + j] - mx);
          probs[p + j] = e;
          sum += e;
        }
        acc.fill(0);
        for (let j = 0; j <= i; j++) {
          const pj = probs[p + j] / sum;
          probs[p + j] = pj;
          // Dropped, the stored (float32) probability scaled, as native rounds it.
          const pv = !drop.active ? pj : keep(drop, p + j) ? Math.fround(probs[p + j] * drop.scale) : 0;
          const v = (b * T + j) * C3 + 2 * C + h * D;
          for (let d = 0; d < D; d++) acc[d] += pv * qkv[v + d];
        }
        probs.fill(0, p + i + 1, p + T);
        y.set(acc, (b * T + i) * C + h * D);
      }
    }
  }
}

/**
 * dqkv [B, T, 3C] from dy [B, T, C]: dP = dY V^T, dS = P o (dP - rowsum(dP o P)),
 * dQ = dS K / sqrt(D), dK = dS^T Q / sqrt(D), dV = P^T dY; with dropout, dP = (dY V^T) o M * scale
 * and dV = Pd^T dY.
 */
export function attentionBackward(
  dy: Float32Array,
  qkv: Float32Array,
  probs: Float32Array,
  dqkv: Float32Array,
  B: number,
  T: number,
  C: number,
  H: number,
  dropRate = 0,
  seedLo = 0,
  seedHi = 0,
): void {
  const drop = dropoutMask(dropRate, seedLo, seedHi);
  const D = C / H;
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(D);
  const ds = new Float64Array(T);
  const dq = new Float64Array(D);
  dqkv.fill(0, 0, B * T * C3);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const p = ((b * H + h) * T + i) * T;
        const g = (b * T + i) * C + h * D;
        const q = (b * T + i) * C3 + h * D;
        let dot = 0;
        for (let j = 0; j <= i; j++) {
          const v = (b * T + j) * C3 + 2 * C + h * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += dy[g + d] * qkv[v + d];
          if (drop.active) s = keep(drop, p + j) ? s * drop.scale : 0;
          ds[j] = s;
          dot += s * probs[p + j];
        }
        dq.fill(0);
        for (let j = 0; j <= i; j++) {
          const pj = probs[p + j];
          const sj = pj * (ds[j] - dot) * scale;
          const pv = !drop.active ? pj : keep(drop, p + j) ? Math.fround(pj * drop.scale) : 0;
          const k = (b * T + j) * C3 + C + h * D;
          for (let d = 0; d < D; d++) {
            dq[d] += sj * qkv[k + d];
            dqkv[k + d] += sj * qkv[q + d];
            dqkv[k + C + d] += pv * dy[g + d];
          }
        }
        for (let d = 0; d < D; d++) dqkv[q + d] = dq[d];
      }
    }
  }
}
