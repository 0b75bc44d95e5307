// Optimizer and reduction arithmetic on flat Float32Arrays, over [offset, offset + length).
// Element maths is done in double and rounded once on store, like the JavaScript fallback.
//   adamw: p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//          p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#include <vector>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

constexpr int64_t kGrain = 1 << 16;

struct Range {
  int64_t offset, length;
};

// Reads (offset, length) at arguments i, i+1 and checks them against every array's length.
Range RangeArgs(const Napi::CallbackInfo& info, size_t i, std::initializer_list<size_t> arrays) {
  const Range r{IntArg(info, i, "offset"), IntArg(info, i + 1, "length")};
  for (size_t a : arrays) {
    if (r.offset + r.length > TypedLength(info, a, "array")) {
      throw Napi::RangeError::New(info.Env(), "forge_native: offset + length is past the end of an array");
    }
  }
  return r;
}

struct AdamW {
  double decay, b1, b2, eps, stepSize, bc2Sqrt;
};

// Vectorised (4 or 8 doubles per instruction where the CPU has them: 2x faster on 124M parameters)
// with FMA contraction off, so each element is the same double-precision sequence as the
// JavaScript loop and the results stay identical to it, bit for bit.
FORGE_SIMD __attribute__((optimize("fp-contract=off"))) void AdamWRange(float* p, const float* g, float* m, float* v,
                                                                        int64_t i0, int64_t i1, AdamW h) {
  for (int64_t i = i0; i < i1; ++i) {
    const double gi = g[i];
    const double mi = h.b1 * m[i] + (1.0 - h.b1) * gi;
    const double vi = h.b2 * v[i] + (1.0 - h.b2) * gi * gi;
    const double pi = static_cast<float>(p[i] * h.decay);
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    p[i] = static_cast<float>(pi - h.stepSize * static_cast<float>(mi) /
                                       (std::sqrt(static_cast<double>(static_cast<float>(vi))) / h.bc2Sqrt + h.eps));
  }
}

// adamw(params, grads, m, v, offset, length, lr, beta1, beta2, eps, weightDecay, step)
Napi::Value AdamWStep(const Napi::CallbackInfo& info) {
  float* p = F32Arg(info, 0, 0, "params");
  const float* g = F32Arg(info, 1, 0, "grads");
  float* m = F32Arg(info, 2, 0, "m");
  float* v = F32Arg(info, 3, 0, "v");
  const Range r = RangeArgs(info, 4, {0, 1, 2, 3});
  const double lr = NumArg(info, 6, "lr"), b1 = NumArg(info, 7, "beta1"), b2 = NumArg(info, 8, "beta2");
  const double eps = NumArg(info, 9, "eps"), wd = NumArg(info, 10, "weightDecay"), t = NumArg(info, 11, "step");
  const AdamW h{1.0 - lr * wd, b1, b2, eps, lr / (1.0 - std::pow(b1, t)), std::sqrt(1.0 - std::pow(b2, t))};
  ParallelFor(r.length, kGrain, [&](int64_t i0, int64_t i1) {
    AdamWRange(p, g, m, v, r.offset + i0, r.offset + i1, h);
  });
  return info.Env().Undefined();
}

FORGE_SIMD double SumSquares(const float* x, int64_t i0, int64_t i1) {
  double s = 0;
  for (int64_t i = i0; i < i1; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

// sumOfSquares(x, offset, length) -> number (float64 accumulation)
Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  const float* x = F32Arg(info, 0, 0, "x");
  const Range r = RangeArgs(info, 1, {0});
  const int chunks = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(NumThreads(), r.length / kGrain)));
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  ParallelTasks(chunks, [&](int64_t c, int) {
    partial[static_cast<size_t>(c)] =
        SumSquares(x, r.offset + r.length * c / chunks, r.offset + r.length * (c + 1) / chunks);
  });
  double total = 0;
  for (double s : partial) total += s;
  return Napi::Number::New(info.Env(), total);
}

FORGE_SIMD void ScaleRange(float* x, float s, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) x[i] *= s;
}

// scale(x, s, offset, length): x *= s
Napi::Value Scale(const Napi::CallbackInfo& info) {
  float* x = F32Arg(info, 0, 0, "x");
  const float s = static_cast<float>(NumArg(info, 1, "s"));
  const Range r = RangeArgs(info, 2, {0});
  ParallelFor(r.length, kGrain, [&](int64_t i0, int64_t i1) { ScaleRange(x, s, r.offset + i0, r.offset + i1); });
  return info.Env().Undefined();
}

FORGE_SIMD void AxpyRange(float* dst, const float* src, float alpha, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) dst[i] += alpha * src[i];
}

// axpy(dst, src, alpha, offset, length, parallel = true): dst += alpha * src. With parallel false
// it runs on the calling thread only: for the all-reduce's chunks (a few MB), where waking the
// pool costs more than it saves and the other cores are busy with the peers' streams.
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  float* dst = F32Arg(info, 0, 0, "dst");
  const float* src = F32Arg(info, 1, 0, "src");
  const float alpha = static_cast<float>(NumArg(info, 2, "alpha"));
  const Range r = RangeArgs(info, 3, {0, 1});
  const bool parallel = info.Length() < 6 || info[5].ToBoolean().Value();
  if (!parallel) {
    AxpyRange(dst, src, alpha, r.offset, r.offset + r.length);
    return info.Env().Undefined();
  }
  ParallelFor(r.length, kGrain, [&](int64_t i0, int64_t i1) { AxpyRange(dst, src, alpha, r.offset + i0, r.offset + i1); });
  return info.Env().Undefined();
}

FORGE_SIMD void DivideRange(float* x, float divisor, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) x[i] /= divisor;
}

// divide(x, divisor, offset, length): x /= divisor on the calling thread. IEEE f32 division (no
// -freciprocal-math), so the same bits as JavaScript's Math.fround(x / divisor): the averaging of the
// all-reduce, where every rank must end with the same bits whatever its kernel.
Napi::Value Divide(const Napi::CallbackInfo& info) {
  float* x = F32Arg(info, 0, 0, "x");
  const float divisor = static_cast<float>(NumArg(info, 1, "divisor"));
  const Range r = RangeArgs(info, 2, {0});
  DivideRange(x, divisor, r.offset, r.offset + r.length);
  return info.Env().Undefined();
}

// bfloat16 is the upper half of an f32. Rounding to nearest even adds 0x7fff plus the lowest kept
// bit; a NaN keeps its sign and top payload bits with the quiet bit set, so it cannot round to
// infinity. Branch-free, so the loops vectorise; the same bits as the JavaScript codec of
// @llm-forge/collective (codec/bf16.ts).
static inline uint32_t Bf16Bits(uint32_t b) {
  const uint32_t rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
  const uint32_t quietNan = (b >> 16) | 0x40u;
  return (b & 0x7fffffffu) > 0x7f800000u ? quietNan : rounded;
}

FORGE_SIMD void Bf16EncodeRange(const uint32_t* src, uint16_t* dst, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) dst[i] = static_cast<uint16_t>(Bf16Bits(src[i]));
}

FORGE_SIMD void Bf16DecodeRange(const uint16_t* src, uint32_t* dst, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) dst[i] = static_cast<uint32_t>(src[i]) << 16;
}

FORGE_SIMD void Bf16RoundRange(uint32_t* x, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) x[i] = Bf16Bits(x[i]) << 16;
}

// Runs `kernel` from src (argument 0) into dst (argument 1) over [offset, offset + length)
// (arguments 2 and 3), on the calling thread (like axpy's serial mode): the chunks are a few MB.
template <typename Src, typename Dst>
Napi::Value ConvertSerial(const Napi::CallbackInfo& info, const Src* src, Dst* dst,
                          void (*kernel)(const Src*, Dst*, int64_t, int64_t)) {
  const Range r = RangeArgs(info, 2, {0, 1});
  kernel(src, dst, r.offset, r.offset + r.length);
  return info.Env().Undefined();
}

// The bf16 wire codec of the ring all-reduce.
// bf16Encode(src: Float32Array, dst: Uint16Array, offset, length)
Napi::Value Bf16Encode(const Napi::CallbackInfo& info) {
  return ConvertSerial<uint32_t, uint16_t>(info, Word32Arg(info, 0, 0, "src"), U16Arg(info, 1, 0, "dst"),
                                           Bf16EncodeRange);
}

// bf16Decode(src: Uint16Array, dst: Float32Array, offset, length): exact widening.
Napi::Value Bf16Decode(const Napi::CallbackInfo& info) {
  return ConvertSerial<uint16_t, uint32_t>(info, U16Arg(info, 0, 0, "src"), Word32Arg(info, 1, 0, "dst"),
                                           Bf16DecodeRange);
}

// bf16Round(x: Float32Array, offset, length): every element to its nearest bf16, in place.
Napi::Value Bf16Round(const Napi::CallbackInfo& info) {
  uint32_t* x = Word32Arg(info, 0, 0, "x");
  const Range r = RangeArgs(info, 1, {0});
  Bf16RoundRange(x, r.offset, r.offset + r.length);
  return info.Env().Undefined();
}

}  // namespace

void InitFlatMath(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, AdamWStep, "adamw"));
  exports.Set("sumOfSquares", Napi::Function::New(env, SumOfSquares, "sumOfSquares"));
  exports.Set("scale", Napi::Function::New(env, Scale, "scale"));
  exports.Set("axpy", Napi::Function::New(env, Axpy, "axpy"));
  exports.Set("divide", Napi::Function::New(env, Divide, "divide"));
  exports.Set("bf16Encode", Napi::Function::New(env, Bf16Encode, "bf16Encode"));
  exports.Set("bf16Decode", Napi::Function::New(env, Bf16Decode, "bf16Decode"));
  exports.Set("bf16Round", Napi::Function::New(env, Bf16Round, "bf16Round"));
}

}  // namespace forge
