/**
 * Softmax cross-entropy with integer labels, in plain JavaScript (the fallback of
 * native/cross-entropy.cc). Legend: N = rows, V = vocabulary.
 */

/** Throws when a label is outside [0, V) and is not ignoreIndex. */
export function checkLabels(labels: Int32Array, N: number, V: number, ignoreIndex: number): void {
  for (let n = 0; n < N; n++) {
    const l = labels[n];
    if (l !== ignoreIndex && (l < 0 || l >= V)) {
      throw new RangeError(
        `ForgeSoftmaxCrossEntropy: label ${l} at row ${n} is outside [0, ${V}) and is not ignoreIndex`,
      );
    }
  }
}

/** logsumexp [N] of each row and losses [N] = logsumexp - logits[label] (0 where ignored). */
export function crossEntropyForward(
  logits: Float32Array,
  labels: Int32Array,
  losses: Float32Array,
  logsumexp: Float32Array,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  checkLabels(labels, N, V, ignoreIndex);
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let mx = -Infinity;
    for (let j = 0; j < V; j++) if (logits[o + j] > mx) mx = logits[o + j];
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - mx);
    const lse = mx + Math.log(sum);
    logsumexp[n] = lse;
    losses[n] = labels[n] === ignoreIndex ? 0 : lse - logits[o + labels[n]];
  }
}

/** dlogits [N, V] = dlosses[n] * (softmax(logits[n]) - onehot(label[n])); zero rows where ignored. */
export function crossEntropyBackward(
  dlosses: Float32Array,
  logits: Float32Array,
  labels: Int32Array,
  logsumexp: Float32Array,
  dlogits: Float32Array,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  checkLabels(labels, N, V, ignoreIndex);
  for (let n = 0; n < N; n++) {
    const o = n * V;
    if (labels[n] === ignoreIndex) {
      dlogits.fill(0, o, o + V);
      continue;
    }
    const d = dlosses[n];
    const lse = logsumexp[n];
    for (let j = 0; j < V; j++) dlogits[o + j] = d * Math.exp(logits[o + j] - lse);
    dlogits[o + labels[n]] -= d;
  }
}
