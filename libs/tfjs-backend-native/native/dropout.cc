// Dropout with a counter-based mask (dropout.h), element-wise and multi-threaded:
//   y[i] = keep(i) ? x[i] * scale : 0,  scale = 1 / (1 - rate)
// Its gradient is the same map applied to dy (the same seed gives the same mask), so one function
// serves both and nothing but the seed is kept between forward and backward.
#include <string>

#include "common.h"
#include "dropout.h"
#include "thread-pool.h"

namespace forge {
namespace {

constexpr int64_t kGrain = 1 << 15;

FORGE_SIMD void Range(const float* x, float* y, int64_t i0, int64_t i1, DropoutMask m) {
  for (int64_t i = i0; i < i1; ++i) {
    y[i] = m.Keep(static_cast<uint32_t>(i)) ? x[i] * m.scale : 0.0f;
  }
}

// dropout(x, y, n, rate, seedLo, seedHi)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 2, "n");
  const DropoutMask m = ReadDropout(info, 3, "dropout");
  const float* x = F32Arg(info, 0, n, "x");
  float* y = F32Arg(info, 1, n, "y");
  ParallelFor(n, kGrain, [&](int64_t i0, int64_t i1) { Range(x, y, i0, i1, m); });
  return info.Env().Undefined();
}

}  // namespace

DropoutMask ReadDropout(const Napi::CallbackInfo& info, size_t first, const char* kernel) {
  const double rate = NumArg(info, first, "rate");
  const int64_t lo = IntArg(info, first + 1, "seedLo"), hi = IntArg(info, first + 2, "seedHi");
  if (!(rate >= 0 && rate < 1) || lo > 0xffffffffLL || hi > 0xffffffffLL) {
    throw Napi::RangeError::New(info.Env(), std::string("forge_native.") + kernel +
                                                ": dropout rate must be in [0, 1), seed words 32-bit");
  }
  return DropoutMask(rate, static_cast<uint32_t>(lo), static_cast<uint32_t>(hi));
}

void InitDropout(Napi::Env env, Napi::Object exports) {
  exports.Set("dropout", Napi::Function::New(env, Dropout, "dropout"));
}

}  // namespace forge
