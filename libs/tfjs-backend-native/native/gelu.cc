// GELU, tanh approximation, forward and backward (element-wise, multi-threaded).
//   y  = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   dx = dy (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)),  t = tanh(u)
#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

constexpr float kS = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kA = 0.044715f;
constexpr int64_t kGrain = 1 << 15;

FORGE_SIMD void ForwardRange(const float* x, float* y, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const float v = x[i];
    const float t = FastTanh(kS * (v + kA * v * v * v));
    y[i] = 0.5f * v * (1.0f + t);
  }
}

FORGE_SIMD void BackwardRange(const float* dy, const float* x, float* dx, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const float v = x[i];
    const float t = FastTanh(kS * (v + kA * v * v * v));
    const float local = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * kS * (1.0f + 3.0f * kA * v * v);
    dx[i] = dy[i] * local;
  }
}

// geluForward(x, y, n)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 2, "n");
  const float* x = F32Arg(info, 0, n, "x");
  float* y = F32Arg(info, 1, n, "y");
  ParallelFor(n, kGrain, [&](int64_t i0, int64_t i1) { ForwardRange(x, y, i0, i1); });
  return info.Env().Undefined();
}

// geluBackward(dy, x, dx, n)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 3, "n");
  const float* dy = F32Arg(info, 0, n, "dy");
  const float* x = F32Arg(info, 1, n, "x");
  float* dx = F32Arg(info, 2, n, "dx");
  ParallelFor(n, kGrain, [&](int64_t i0, int64_t i1) { BackwardRange(dy, x, dx, i0, i1); });
  return info.Env().Undefined();
}

}  // namespace

void InitGelu(Napi::Env env, Napi::Object exports) {
  exports.Set("geluForward", Napi::Function::New(env, Forward, "geluForward"));
  exports.Set("geluBackward", Napi::Function::New(env, Backward, "geluBackward"));
}

}  // namespace forge
