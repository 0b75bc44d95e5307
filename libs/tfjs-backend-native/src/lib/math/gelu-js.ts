/**
 * GELU, tanh approximation, in plain JavaScript (the fallback of native/gelu.cc):
 * y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 */
const S = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** y = gelu(x) over n elements. */
export function geluForward(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(S * (v + A * v * v * v)));
  }
}

/** dx = dy * gelu'(x) over n elements. */
export function geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = Math.tanh(S * (v + A * v * v * v));
    dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * S * (1 + 3 * A * v * v));
  }
}
