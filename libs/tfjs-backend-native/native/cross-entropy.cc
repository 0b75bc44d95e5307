// Softmax cross-entropy with integer labels over rows of logits [N, V].
//   forward:  lse[n] = logsumexp(logits[n]), losses[n] = lse[n] - logits[n, label[n]]
//             (0 where label == ignoreIndex)
//   backward: dlogits[n] = dlosses[n] * (exp(logits[n] - lse[n]) - onehot(label[n]))
//             (zero rows where label == ignoreIndex)
#include <string>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

// logsumexp of a row in one pass over memory: each chunk's max and exp-sum are computed while the
// chunk sits in L1, and chunks are merged with the usual rescaling.
FORGE_SIMD float RowLogSumExp(const float* row, int64_t V) {
  constexpr int64_t kChunk = 2048;
  float mx = -INFINITY, sum = 0.0f;
  for (int64_t c0 = 0; c0 < V; c0 += kChunk) {
    const int64_t c1 = std::min(V, c0 + kChunk);
    const float cmx = RowMax(row + c0, c1 - c0);
    const float csum = RowSumExp(row + c0, nullptr, c1 - c0, cmx);
    if (cmx > mx) {
      sum = sum * FastExp(mx - cmx) + csum;
      mx = cmx;
    } else {
      sum += csum * FastExp(cmx - mx);
    }
  }
  return mx + std::log(sum);
}

FORGE_SIMD void RowGrad(const float* row, float* out, int64_t V, float lse, float scale) {
  for (int64_t j = 0; j < V; ++j) out[j] = scale * FastExp(row[j] - lse);
}

void CheckLabels(const Napi::CallbackInfo& info, const int32_t* labels, int64_t N, int64_t V, int64_t ignoreIndex) {
  for (int64_t n = 0; n < N; ++n) {
    if (labels[n] != ignoreIndex && (labels[n] < 0 || labels[n] >= V)) {
      throw Napi::RangeError::New(info.Env(), "ForgeSoftmaxCrossEntropy: label " + std::to_string(labels[n]) +
                                                  " at row " + std::to_string(n) + " is outside [0, " +
                                                  std::to_string(V) + ") and is not ignoreIndex");
    }
  }
}

// crossEntropyForward(logits, labels, losses, lse, N, V, ignoreIndex)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const int64_t N = IntArg(info, 4, "N"), V = IntArg(info, 5, "V");
  const int64_t ignoreIndex = static_cast<int64_t>(NumArg(info, 6, "ignoreIndex"));
  const float* logits = F32Arg(info, 0, N * V, "logits");
  const int32_t* labels = I32Arg(info, 1, N, "labels");
  float* losses = F32Arg(info, 2, N, "losses");
  float* lse = F32Arg(info, 3, N, "logsumexp");
  CheckLabels(info, labels, N, V, ignoreIndex);
  if (V == 0) throw Napi::RangeError::New(info.Env(), "ForgeSoftmaxCrossEntropy: V must be positive");
  ParallelFor(N, std::max<int64_t>(1, 32768 / V), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* row = logits + n * V;
      lse[n] = RowLogSumExp(row, V);
      losses[n] = labels[n] == ignoreIndex ? 0.0f : lse[n] - row[labels[n]];
    }
  });
  return info.Env().Undefined();
}

// crossEntropyBackward(dlosses, logits, labels, lse, dlogits, N, V, ignoreIndex)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const int64_t N = IntArg(info, 5, "N"), V = IntArg(info, 6, "V");
  const int64_t ignoreIndex = static_cast<int64_t>(NumArg(info, 7, "ignoreIndex"));
  const float* dlosses = F32Arg(info, 0, N, "dlosses");
  const float* logits = F32Arg(info, 1, N * V, "logits");
  const int32_t* labels = I32Arg(info, 2, N, "labels");
  const float* lse = F32Arg(info, 3, N, "logsumexp");
  float* dlogits = F32Arg(info, 4, N * V, "dlogits");
  CheckLabels(info, labels, N, V, ignoreIndex);
  ParallelFor(N, std::max<int64_t>(1, 32768 / std::max<int64_t>(V, 1)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      float* out = dlogits + n * V;
      if (labels[n] == ignoreIndex) {
        std::fill(out, out + V, 0.0f);
        continue;
      }
      RowGrad(logits + n * V, out, V, lse[n], dlosses[n]);
      out[labels[n]] -= dlosses[n];
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitCrossEntropy(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropyForward", Napi::Function::New(env, Forward, "crossEntropyForward"));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, Backward, "crossEntropyBackward"));
}

}  // namespace forge
