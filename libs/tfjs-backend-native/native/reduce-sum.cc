// Sum over a contiguous block of axes: x viewed as [outer, reduce, inner] -> out [outer, inner],
// accumulated in double (bias gradients, loss sums). Threads split the output elements.
#include <vector>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

FORGE_SIMD void AccumulateRow(double* acc, const float* src, int64_t len) {
  for (int64_t k = 0; k < len; ++k) acc[k] += src[k];
}

FORGE_SIMD double SumRow(const float* src, int64_t len) {
  double s = 0;
  for (int64_t k = 0; k < len; ++k) s += src[k];
  return s;
}

// reduceSum(x, out, outer, reduce, inner): out[o, i] = sum_r x[o, r, i], accumulated in double.
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  const int64_t outer = IntArg(info, 2, "outer"), reduce = IntArg(info, 3, "reduce"), inner = IntArg(info, 4, "inner");
  const float* x = F32Arg(info, 0, outer * reduce * inner, "x");
  float* out = F32Arg(info, 1, outer * inner, "out");
  if (inner == 1) {
    ParallelFor(outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(reduce, 1)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) out[o] = static_cast<float>(SumRow(x + o * reduce, reduce));
    });
    return info.Env().Undefined();
  }
  ParallelFor(outer * inner, std::max<int64_t>(16, 32768 / std::max<int64_t>(reduce, 1)), [&](int64_t j0, int64_t j1) {
    std::vector<double> acc(static_cast<size_t>(j1 - j0));
    for (int64_t j = j0; j < j1;) {
      const int64_t o = j / inner, i0 = j % inner;
      const int64_t len = std::min(inner - i0, j1 - j);
      double* a = acc.data() + (j - j0);
      std::fill(a, a + len, 0.0);
      for (int64_t r = 0; r < reduce; ++r) AccumulateRow(a, x + (o * reduce + r) * inner + i0, len);
      for (int64_t k = 0; k < len; ++k) out[j + k] = static_cast<float>(a[k]);
      j += len;
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitReduceSum(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum, "reduceSum"));
}

}  // namespace forge
