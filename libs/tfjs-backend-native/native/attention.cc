// Fused causal self-attention core over qkv [B, T, 3C] (q | k | v, head h owning columns
// h*D .. (h+1)*D of each part). One task per (b, h), run in parallel with single-threaded
// OpenBLAS on strided views of qkv; rows are processed in blocks of kBlock so that products
// skip most of the masked upper triangle.
//   forward:  P = softmax_causal(Q K^T / sqrt(D)),  Y_h = P V
//   backward: dP = dY V^T, dV = P^T dY, dS = P o (dP - rowsum(dP o P)),
//             dQ = dS K / sqrt(D), dK = dS^T Q / sqrt(D)
// With dropout (rate > 0) the product with V takes Pd = P o M / (1 - rate), M the mask of
// dropout.h at index ((b H + h) T + i) T + j, and probs keeps P (softmax's gradient needs it):
//   forward:  Y_h = Pd V
//   backward: dPd = dY V^T, dP = dPd o M / (1 - rate), dV = Pd^T dY, then dS, dQ, dK as above
// The mask is drawn again from the seed in the backward pass; it is never stored.
#include <cblas.h>

#include <vector>

#include "common.h"
#include "dropout.h"
#include "thread-pool.h"

namespace forge {
namespace {

constexpr int64_t kBlock = 64;

void Gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(M),
              static_cast<blasint>(N), static_cast<blasint>(K), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), 0.0f, c, static_cast<blasint>(ldc));
}

// Causal softmax of rows [i0, i1) of the T x T scores in place: row i keeps columns 0..i.
FORGE_SIMD void CausalSoftmaxRows(float* p, int64_t i0, int64_t i1, int64_t T) {
  for (int64_t i = i0; i < i1; ++i) {
    float* row = p + i * T;
    const float sum = RowSumExp(row, row, i + 1, RowMax(row, i + 1));
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
    for (int64_t j = i + 1; j < T; ++j) row[j] = 0.0f;
  }
}

// dS = P o (dP - rowsum(dP o P)) in place in dP, rows [i0, i1), columns 0..i.
FORGE_SIMD void SoftmaxBackwardRows(const float* p, float* dp, int64_t i0, int64_t i1, int64_t T) {
  for (int64_t i = i0; i < i1; ++i) {
    const float* pr = p + i * T;
    float* dr = dp + i * T;
    float dot = 0;
    for (int64_t j = 0; j <= i; ++j) dot += pr[j] * dr[j];
    for (int64_t j = 0; j <= i; ++j) dr[j] = pr[j] * (dr[j] - dot);
    for (int64_t j = i + 1; j < T; ++j) dr[j] = 0.0f;
  }
}

// out[r, j] = M[i, j] ? p[i, j] * scale : 0 for rows i in [i0, i1) (r = i - i0), columns j < n;
// `first` is the mask index of p[0, 0] of this (b, h).
FORGE_SIMD void DropRows(const float* p, float* out, int64_t i0, int64_t i1, int64_t n, int64_t T, uint32_t first,
                         DropoutMask m) {
  for (int64_t i = i0; i < i1; ++i) {
    const float* pr = p + i * T;
    float* o = out + (i - i0) * T;
    const uint32_t base = first + static_cast<uint32_t>(i * T);
    for (int64_t j = 0; j < n; ++j) o[j] = m.Keep(base + static_cast<uint32_t>(j)) ? pr[j] * m.scale : 0.0f;
  }
}

struct Dims {
  int64_t B, T, C, H, D;
};

Dims ReadDims(const Napi::CallbackInfo& info, size_t first) {
  Dims d{IntArg(info, first, "B"), IntArg(info, first + 1, "T"), IntArg(info, first + 2, "C"),
         IntArg(info, first + 3, "H"), 0};
  if (d.H == 0 || d.C % d.H != 0) {
    throw Napi::RangeError::New(info.Env(), "forge_native.attention: C must be a positive multiple of H");
  }
  d.D = d.C / d.H;
  return d;
}

// attentionForward(qkv, y, probs, B, T, C, H[, dropRate, seedLo, seedHi])
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Dims d = ReadDims(info, 3);
  const DropoutMask drop = info.Length() > 7 ? ReadDropout(info, 7, "attention") : DropoutMask();
  const int64_t T = d.T, C = d.C, D = d.D, C3 = 3 * C;
  const float* qkv = F32Arg(info, 0, d.B * T * C3, "qkv");
  float* y = F32Arg(info, 1, d.B * T * C, "y");
  float* probs = F32Arg(info, 2, d.B * d.H * T * T, "probs");
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  if (T == 0 || D == 0) return info.Env().Undefined();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(drop.active ? NumThreads() : 0));
  ParallelTasks(d.B * d.H, [&](int64_t task, int worker) {
    const int64_t b = task / d.H, h = task % d.H;
    const float* q = qkv + b * T * C3 + h * D;
    const float* k = q + C;
    const float* v = q + 2 * C;
    float* p = probs + task * T * T;
    float* yh = y + b * T * C + h * D;
    for (int64_t i0 = 0; i0 < T; i0 += kBlock) {
      const int64_t i1 = std::min(T, i0 + kBlock);
      // S[i0:i1, 0:i1] = Q[i0:i1] K[0:i1]^T * scale
      Gemm(false, true, i1 - i0, i1, D, scale, q + i0 * C3, C3, k, C3, p + i0 * T, T);
      CausalSoftmaxRows(p, i0, i1, T);
      if (!drop.active) {
        // Y[i0:i1] = P[i0:i1, 0:i1] V[0:i1]
        Gemm(false, false, i1 - i0, D, i1, 1.0f, p + i0 * T, T, v, C3, yh + i0 * C, C);
        continue;
      }
      // Y[i0:i1] = Pd[i0:i1, 0:i1] V[0:i1], Pd's rows in scratch (P's zeros past i stay zero)
      std::vector<float>& pd = scratch[static_cast<size_t>(worker)];
      if (pd.size() < static_cast<size_t>(kBlock * T)) pd.resize(static_cast<size_t>(kBlock * T));
      DropRows(p, pd.data(), i0, i1, i1, T, static_cast<uint32_t>(task * T * T), drop);
      Gemm(false, false, i1 - i0, D, i1, 1.0f, pd.data(), T, v, C3, yh + i0 * C, C);
    }
  });
  return info.Env().Undefined();
}

// attentionBackward(dy, qkv, probs, dqkv, B, T, C, H[, dropRate, seedLo, seedHi])
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Dims d = ReadDims(info, 4);
  const DropoutMask drop = info.Length() > 8 ? ReadDropout(info, 8, "attention") : DropoutMask();
  const int64_t T = d.T, C = d.C, D = d.D, C3 = 3 * C;
  const float* dy = F32Arg(info, 0, d.B * T * C, "dy");
  const float* qkv = F32Arg(info, 1, d.B * T * C3, "qkv");
  const float* probs = F32Arg(info, 2, d.B * d.H * T * T, "probs");
  float* dqkv = F32Arg(info, 3, d.B * T * C3, "dqkv");
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  if (T == 0 || D == 0) return info.Env().Undefined();
  const int workers = NumThreads();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(workers));
  std::vector<std::vector<float>> dropped(static_cast<size_t>(drop.active ? workers : 0));
  ParallelTasks(d.B * d.H, [&](int64_t task, int worker) {
    std::vector<float>& ds = scratch[static_cast<size_t>(worker)];
    if (ds.size() < static_cast<size_t>(T * T)) ds.resize(static_cast<size_t>(T * T));
    const uint32_t first = static_cast<uint32_t>(task * T * T);
    const int64_t b = task / d.H, h = task % d.H;
    const int64_t off = b * T * C3 + h * D;
    const float *q = qkv + off, *k = q + C, *v = q + 2 * C;
    float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * C;
    const float* p = probs + task * T * T;
    const float* dyh = dy + b * T * C + h * D;
    float* s = ds.data();
    // dV's products take Pd = P o M / (1 - rate), the matrix the forward multiplied V by.
    const float* pv = p;
    if (drop.active) {
      std::vector<float>& pd = dropped[static_cast<size_t>(worker)];
      if (pd.size() < static_cast<size_t>(T * T)) pd.resize(static_cast<size_t>(T * T));
      DropRows(p, pd.data(), 0, T, T, T, first, drop);
      pv = pd.data();
    }
    for (int64_t i0 = 0; i0 < T; i0 += kBlock) {
      const int64_t i1 = std::min(T, i0 + kBlock);
      // dP[i0:i1, 0:i1] = dY[i0:i1] V[0:i1]^T, then dS in place.
      Gemm(false, true, i1 - i0, i1, D, 1.0f, dyh + i0 * C, C, v, C3, s + i0 * T, T);
      if (drop.active) DropRows(s, s + i0 * T, i0, i1, i1, T, first, drop);  // dP = dPd o M * scale
      SoftmaxBackwardRows(p, s, i0, i1, T);
      // dQ[i0:i1] = dS[i0:i1, 0:i1] K[0:i1] * scale
      Gemm(false, false, i1 - i0, D, i1, scale, s + i0 * T, T, k, C3, dq + i0 * C3, C3);
    }
    for (int64_t j0 = 0; j0 < T; j0 += kBlock) {
      const int64_t j1 = std::min(T, j0 + kBlock);
      // dV[j0:j1] = P[j0:T, j0:j1]^T dY[j0:T];  dK[j0:j1] = dS[j0:T, j0:j1]^T Q[j0:T] * scale
      Gemm(true, false, j1 - j0, D, T - j0, 1.0f, pv + j0 * T + j0, T, dyh + j0 * C, C, dv + j0 * C3, C3);
      Gemm(true, false, j1 - j0, D, T - j0, scale, s + j0 * T + j0, T, q + j0 * C3, C3, dk + j0 * C3, C3);
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, Forward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, Backward, "attentionBackward"));
}

}  // namespace forge
