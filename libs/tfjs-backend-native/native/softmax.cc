// Row softmax over the last axis (the Softmax kernel of the native backend).
#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

FORGE_SIMD void RowSoftmax(const float* row, float* out, int64_t V) {
  const float sum = RowSumExp(row, out, V, RowMax(row, V));
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < V; ++j) out[j] *= inv;
}

// softmaxRows(x, y, rows, cols): softmax over the last axis.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const int64_t rows = IntArg(info, 2, "rows"), cols = IntArg(info, 3, "cols");
  const float* x = F32Arg(info, 0, rows * cols, "x");
  float* y = F32Arg(info, 1, rows * cols, "y");
  if (cols == 0) return info.Env().Undefined();
  ParallelFor(rows, std::max<int64_t>(1, 32768 / cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) RowSoftmax(x + r * cols, y + r * cols, cols);
  });
  return info.Env().Undefined();
}

}  // namespace

void InitSoftmax(Napi::Env env, Napi::Object exports) {
  exports.Set("softmaxRows", Napi::Function::New(env, Softmax, "softmaxRows"));
}

}  // namespace forge
