// LayerNorm over the last axis (N rows of C), forward and backward, llm.c style.
//   forward:  y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), biased var
//   backward: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma;
//             dgamma = sum_rows dy * xhat, dbeta = sum_rows dy
#include <vector>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

FORGE_SIMD void ForwardRows(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                            int64_t r0, int64_t r1, int64_t C, float eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += xr[c];
    const float m = static_cast<float>(sum / static_cast<double>(C));
    double sq = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xr[c] - m);
      sq += d * d;
    }
    const float s = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(C) + static_cast<double>(eps)));
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m) * s * gamma[c] + beta[c];
    mean[r] = m;
    rstd[r] = s;
  }
}

// dx for rows [r0, r1); accumulates dgamma, dbeta partials into dg, db (length C).
FORGE_SIMD void BackwardRows(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                             float* dx, double* dg, double* db, int64_t r0, int64_t r1, int64_t C) {
  const double invC = 1.0 / static_cast<double>(C);
  for (int64_t r = r0; r < r1; ++r) {
    const float* dyr = dy + r * C;
    const float* xr = x + r * C;
    float* dxr = dx + r * C;
    const float m = mean[r], s = rstd[r];
    double gSum = 0, gxSum = 0;
    for (int64_t c = 0; c < C; ++c) {
      const float xhat = (xr[c] - m) * s;
      const float g = dyr[c] * gamma[c];
      gSum += g;
      gxSum += static_cast<double>(g * xhat);
      dg[c] += static_cast<double>(dyr[c] * xhat);
      db[c] += dyr[c];
    }
    const float gMean = static_cast<float>(gSum * invC), gxMean = static_cast<float>(gxSum * invC);
    for (int64_t c = 0; c < C; ++c) {
      const float xhat = (xr[c] - m) * s;
      dxr[c] = (dyr[c] * gamma[c] - gMean - xhat * gxMean) * s;
    }
  }
}

// layerNormForward(x, gamma, beta, y, mean, rstd, N, C, epsilon)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const int64_t N = IntArg(info, 6, "N"), C = IntArg(info, 7, "C");
  const float eps = static_cast<float>(NumArg(info, 8, "epsilon"));
  const float* x = F32Arg(info, 0, N * C, "x");
  const float* gamma = F32Arg(info, 1, C, "gamma");
  const float* beta = F32Arg(info, 2, C, "beta");
  float* y = F32Arg(info, 3, N * C, "y");
  float* mean = F32Arg(info, 4, N, "mean");
  float* rstd = F32Arg(info, 5, N, "rstd");
  if (C == 0) return info.Env().Undefined();
  ParallelFor(N, std::max<int64_t>(1, 16384 / C),
              [&](int64_t r0, int64_t r1) { ForwardRows(x, gamma, beta, y, mean, rstd, r0, r1, C, eps); });
  return info.Env().Undefined();
}

// layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, N, C)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const int64_t N = IntArg(info, 8, "N"), C = IntArg(info, 9, "C");
  const float* dy = F32Arg(info, 0, N * C, "dy");
  const float* x = F32Arg(info, 1, N * C, "x");
  const float* gamma = F32Arg(info, 2, C, "gamma");
  const float* mean = F32Arg(info, 3, N, "mean");
  const float* rstd = F32Arg(info, 4, N, "rstd");
  float* dx = F32Arg(info, 5, N * C, "dx");
  float* dgamma = F32Arg(info, 6, C, "dgamma");
  float* dbeta = F32Arg(info, 7, C, "dbeta");
  // Fixed row chunks, each with its own partial sums, added in chunk order: deterministic.
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1));
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(NumThreads(), N / grain));
  std::vector<double> dg(static_cast<size_t>(chunks * C), 0.0), db(static_cast<size_t>(chunks * C), 0.0);
  ParallelTasks(chunks, [&](int64_t t, int) {
    BackwardRows(dy, x, gamma, mean, rstd, dx, dg.data() + t * C, db.data() + t * C, N * t / chunks,
                 N * (t + 1) / chunks, C);
  });
  for (int64_t c = 0; c < C; ++c) {
    double g = 0, b = 0;
    for (int64_t t = 0; t < chunks; ++t) {
      g += dg[static_cast<size_t>(t * C + c)];
      b += db[static_cast<size_t>(t * C + c)];
    }
    dgamma[c] = static_cast<float>(g);
    dbeta[c] = static_cast<float>(b);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitLayerNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNormForward", Napi::Function::New(env, Forward, "layerNormForward"));
  exports.Set("layerNormBackward", Napi::Function::New(env, Backward, "layerNormBackward"));
}

}  // namespace forge
