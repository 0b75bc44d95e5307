// Element-wise binary arithmetic (add, sub, mul, div) on float32 with the broadcasts a training
// graph uses: one operand `full` (the output's shape) and the other `other` either
//   suffix-broadcast: other[i % P]        (same shape when P = n, e.g. bias rows [C] over [N, C])
//   block-broadcast:  other[(i / R) % P]  (e.g. [N, 1] over [N, C], [T, 1] over [B, T, C];
//                                          a scalar is P = 1, R = n).
#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

enum Op { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

template <int OP>
inline float Apply(float x, float y) {
  if (OP == kAdd) return x + y;
  if (OP == kSub) return x - y;
  if (OP == kMul) return x * y;
  return x / y;
}

// out[k] = full[k] op other[k] (or other[k] op full[k] when otherLeft), k < len.
template <int OP>
FORGE_SIMD void Rows(const float* full, const float* other, float* out, int64_t len, bool otherLeft) {
  if (otherLeft) {
    for (int64_t k = 0; k < len; ++k) out[k] = Apply<OP>(other[k], full[k]);
  } else {
    for (int64_t k = 0; k < len; ++k) out[k] = Apply<OP>(full[k], other[k]);
  }
}

// out[k] = full[k] op v (or v op full[k]).
template <int OP>
FORGE_SIMD void Scalar(const float* full, float v, float* out, int64_t len, bool otherLeft) {
  if (otherLeft) {
    for (int64_t k = 0; k < len; ++k) out[k] = Apply<OP>(v, full[k]);
  } else {
    for (int64_t k = 0; k < len; ++k) out[k] = Apply<OP>(full[k], v);
  }
}

template <int OP>
void Range(const float* full, const float* other, float* out, int64_t i0, int64_t i1, int64_t P, int64_t R,
           bool otherLeft) {
  for (int64_t i = i0; i < i1;) {
    if (R == 1) {  // suffix: other[i % P]
      const int64_t j = i % P;
      const int64_t end = std::min(i1, i + (P - j));
      Rows<OP>(full + i, other + j, out + i, end - i, otherLeft);
      i = end;
    } else {  // block: other[(i / R) % P], constant over runs of R
      const int64_t run = i / R;
      const int64_t end = std::min(i1, (run + 1) * R);
      Scalar<OP>(full + i, other[run % P], out + i, end - i, otherLeft);
      i = end;
    }
  }
}

// binary(op, full, other, out, n, period, repeat, otherLeft)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int64_t op = IntArg(info, 0, "op");
  const int64_t n = IntArg(info, 4, "n"), P = IntArg(info, 5, "period"), R = IntArg(info, 6, "repeat");
  const bool otherLeft = BoolArg(info, 7, "otherLeft");
  if (op > kDiv || P < 1 || R < 1 || n % (P * R) != 0) {
    throw Napi::RangeError::New(info.Env(), "forge_native.binary: invalid op or broadcast");
  }
  const float* full = F32Arg(info, 1, n, "full");
  const float* other = F32Arg(info, 2, P, "other");
  float* out = F32Arg(info, 3, n, "out");
  ParallelFor(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    switch (op) {
      case kAdd: Range<kAdd>(full, other, out, i0, i1, P, R, otherLeft); break;
      case kSub: Range<kSub>(full, other, out, i0, i1, P, R, otherLeft); break;
      case kMul: Range<kMul>(full, other, out, i0, i1, P, R, otherLeft); break;
      default: Range<kDiv>(full, other, out, i0, i1, P, R, otherLeft); break;
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
}

}  // namespace forge
