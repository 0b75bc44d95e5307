// Shared helpers for the forge_native addon: argument unpacking with bounds checks, the SIMD
// clone attribute, and a vectorisable exp. Every kernel works in place on the memory of the
// Float32Array / Int32Array objects passed from JavaScript (zero copy).
#pragma once

#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

// Hot loops are compiled for AVX-512, AVX2+FMA and baseline x86-64; the loader picks at run
// time (GCC function multiversioning), so one build runs on any x86-64 machine.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FORGE_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FORGE_SIMD
#endif

namespace forge {

/** Float32Array argument `i`, checked to hold at least `minLength` elements. */
float* F32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name);
/** Int32Array argument `i`, checked to hold at least `minLength` elements. */
int32_t* I32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name);
/** A 4-byte-element typed array (Float32Array, Int32Array, Uint32Array) as raw words. */
uint32_t* Word32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name);
/** Uint16Array argument `i` (bf16 bit patterns), checked to hold at least `minLength` elements. */
uint16_t* U16Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name);
/** Length in elements of typed-array argument `i`. */
int64_t TypedLength(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Non-negative integer argument `i`. */
int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Number argument `i`. */
double NumArg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Boolean argument `i`. */
bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* name);

/** exp(x) to ~2 ulp, branch-free so loops over it vectorise (Cephes polynomial). */
static inline float FastExp(float x) {
  x = x < -87.3f ? -87.3f : x;  // written so that NaN passes through (and propagates)
  x = x > 88.3f ? 88.3f : x;
  float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  x -= fx * 0.693359375f;
  x -= fx * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  const int32_t bits = (static_cast<int32_t>(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

/** tanh(x) through FastExp: 1 - 2 / (exp(2x) + 1); absolute error ~1e-7. */
static inline float FastTanh(float x) { return 1.0f - 2.0f / (FastExp(2.0f * x) + 1.0f); }

// Row reductions written over kLanes independent accumulators, so that they vectorise without
// the compiler reassociating anything (a plain `m = max(m, x[j])` loop stays scalar).
constexpr int kLanes = 16;

/** max of x[0 .. n), n >= 1. */
static inline float RowMax(const float* x, int64_t n) {
  float m[kLanes];
  for (int l = 0; l < kLanes; ++l) m[l] = x[0];
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) m[l] = m[l] > x[j + l] ? m[l] : x[j + l];
  }
  for (; j < n; ++j) m[0] = m[0] > x[j] ? m[0] : x[j];
  float r = m[0];
  for (int l = 1; l < kLanes; ++l) r = r > m[l] ? r : m[l];
  return r;
}

/** sum of exp(x[j] - shift) over j < n; also stores each term in out when out is not null. */
static inline float RowSumExp(const float* x, float* out, int64_t n, float shift) {
  float s[kLanes] = {0};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float e = FastExp(x[j + l] - shift);
      if (out) out[j + l] = e;
      s[l] += e;
    }
  }
  for (; j < n; ++j) {
    const float e = FastExp(x[j] - shift);
    if (out) out[j] = e;
    s[0] += e;
  }
  float r = 0;
  for (int l = 0; l < kLanes; ++l) r += s[l];
  return r;
}

// Registration of each kernel family on the module's exports.
void InitGemm(Napi::Env env, Napi::Object exports);
void InitLayerNorm(Napi::Env env, Napi::Object exports);
void InitGelu(Napi::Env env, Napi::Object exports);
void InitDropout(Napi::Env env, Napi::Object exports);
void InitAttention(Napi::Env env, Napi::Object exports);
void InitCrossEntropy(Napi::Env env, Napi::Object exports);
void InitSoftmax(Napi::Env env, Napi::Object exports);
void InitTranspose(Napi::Env env, Napi::Object exports);
void InitSegmentSum(Napi::Env env, Napi::Object exports);
void InitFlatMath(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduceSum(Napi::Env env, Napi::Object exports);
void InitHugePages(Napi::Env env, Napi::Object exports);

}  // namespace forge
