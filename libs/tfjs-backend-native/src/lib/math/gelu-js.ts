/**
 * GELU, tanh approximation, in plain JavaScript (the fallback of native/gelu.cc):
 * y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 */
const S = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** tanh(u) = 1 - 2 / (exp(2u) + 1): several times faster than Math.tanh in V8, exact to ~1e-16. */
function tanh(u: number): number {
  return 1 - 2 / (Math.exp(2 * u) + 1);
}

/** y = gelu(x) over n elements. */
export function geluForward(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + tanh(S * (v + A * v * v * v)));
  }
}

/** dx = dy * gelu'(x) over n elements. */
export function geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = tanh(S * (v + A * v * v * v));
    dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * S * (1 + 3 * A * v * v));
  }
}
