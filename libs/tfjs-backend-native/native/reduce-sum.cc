// Sum over a contiguous block of axes: x viewed as [outer, reduce, inner] -> out [outer, inner],
// accumulated in double (bias gradients, loss sums). Threads split the rows (by fixed parts) or
// the output elements.
#include <algorithm>
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

// Rows of a part when the reduced axis is split across threads: each part sums its rows into a
// partial row of doubles, read contiguously; the parts are then added in order. Fixed, so the
// result does not depend on the thread count.
constexpr int64_t kRowsPerPart = 64;
// Most bytes of partial rows: beyond this (very wide rows), threads split the columns instead.
constexpr int64_t kMaxPartialBytes = 8 << 20;

// out[o, :] for every o by parts of kRowsPerPart rows (bias gradients: [B*T, C] summed over rows).
// Splitting the columns instead reads each row in short strided pieces, at a third of the speed.
void SumByRowParts(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner) {
  const int64_t parts = (reduce + kRowsPerPart - 1) / kRowsPerPart;
  std::vector<double> partial(static_cast<size_t>(outer * parts * inner));
  ParallelTasks(outer * parts, [&](int64_t task, int) {
    const int64_t o = task / parts, r0 = (task % parts) * kRowsPerPart;
    const int64_t r1 = std::min(reduce, r0 + kRowsPerPart);
    double* acc = partial.data() + task * inner;
    for (int64_t r = r0; r < r1; ++r) AccumulateRow(acc, x + (o * reduce + r) * inner, inner);
  });
  ParallelFor(outer * inner, 4096, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t o = j / inner, i = j % inner;
      const double* acc = partial.data() + o * parts * inner + i;
      double s = 0;
      for (int64_t p = 0; p < parts; ++p) s += acc[p * inner];
      out[j] = static_cast<float>(s);
    }
  });
}

// out[o, :] with threads splitting the output elements, each summing its columns over every row.
void SumByColumns(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner) {
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
  const int64_t parts = (reduce + kRowsPerPart - 1) / kRowsPerPart;
  if (parts >= 2 && outer * parts * inner * static_cast<int64_t>(sizeof(double)) <= kMaxPartialBytes) {
    SumByRowParts(x, out, outer, reduce, inner);
  } else {
    SumByColumns(x, out, outer, reduce, inner);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitReduceSum(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum, "reduceSum"));
}

}  // namespace forge
