// Unsorted segment sum (scatter-add): out[ids[i], :] += x[i, :], the gradient of gather and of
// an embedding lookup. Threads split the columns, so no two threads write the same element and
// the summation order is the row order, whatever the thread count. Ids outside
// [0, numSegments) are dropped.
#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

FORGE_SIMD void AddRow(float* dst, const float* src, int64_t len) {
  for (int64_t j = 0; j < len; ++j) dst[j] += src[j];
}

// segmentSum(x, ids, out, n, rowSize, numSegments): out [numSegments, rowSize] is overwritten
// (zero-filled, then the rows added).
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 3, "n"), rowSize = IntArg(info, 4, "rowSize"), numSegments = IntArg(info, 5, "numSegments");
  const float* x = F32Arg(info, 0, n * rowSize, "x");
  const int32_t* ids = I32Arg(info, 1, n, "segmentIds");
  float* out = F32Arg(info, 2, numSegments * rowSize, "out");
  ParallelFor(numSegments * rowSize, 1 << 16, [&](int64_t i0, int64_t i1) { std::fill(out + i0, out + i1, 0.0f); });
  if (rowSize == 0) return info.Env().Undefined();
  ParallelFor(rowSize, std::max<int64_t>(16, 32768 / std::max<int64_t>(n, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t s = ids[i];
      if (s < 0 || s >= numSegments) continue;
      AddRow(out + s * rowSize + c0, x + i * rowSize + c0, c1 - c0);
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitSegmentSum(Napi::Env env, Napi::Object exports) {
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum, "segmentSum"));
}

}  // namespace forge
