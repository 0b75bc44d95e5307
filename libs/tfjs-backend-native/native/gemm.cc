// Batched single-precision GEMM on OpenBLAS: C_i = alpha * op(A_i) op(B_i) + beta * C_i, row major,
// with per-batch element offsets (which express strided, broadcast and folded batches alike).
#include <cblas.h>

#include <string>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

// Index one past the last element touched by a rows x cols row-major view with leading dim ld.
int64_t Extent(int64_t rows, int64_t cols, int64_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; }

// gemmBatch(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, offsets)
// offsets: Int32Array of 3 * batch element offsets (a, b, c) per product.
Napi::Value GemmBatch(const Napi::CallbackInfo& info) {
  const bool transA = BoolArg(info, 0, "transA");
  const bool transB = BoolArg(info, 1, "transB");
  const int64_t M = IntArg(info, 2, "M"), N = IntArg(info, 3, "N"), K = IntArg(info, 4, "K");
  const float alpha = static_cast<float>(NumArg(info, 5, "alpha"));
  const int64_t lda = IntArg(info, 7, "lda"), ldb = IntArg(info, 9, "ldb"), ldc = IntArg(info, 12, "ldc");
  const float beta = static_cast<float>(NumArg(info, 10, "beta"));
  const int64_t batch = TypedLength(info, 13, "offsets") / 3;
  const int32_t* offsets = I32Arg(info, 13, 3 * batch, "offsets");
  float* a = F32Arg(info, 6, 0, "a");
  float* b = F32Arg(info, 8, 0, "b");
  float* c = F32Arg(info, 11, 0, "c");
  const int64_t lenA = TypedLength(info, 6, "a"), lenB = TypedLength(info, 8, "b"), lenC = TypedLength(info, 11, "c");
  if (lda < (transA ? M : K) || ldb < (transB ? K : N) || ldc < N || lda < 1 || ldb < 1 || ldc < 1) {
    throw Napi::RangeError::New(info.Env(), "forge_native.gemmBatch: leading dimension too small");
  }
  const int64_t extA = transA ? Extent(K, M, lda) : Extent(M, K, lda);
  const int64_t extB = transB ? Extent(N, K, ldb) : Extent(K, N, ldb);
  const int64_t extC = Extent(M, N, ldc);
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t oa = offsets[3 * i], ob = offsets[3 * i + 1], oc = offsets[3 * i + 2];
    if (oa < 0 || ob < 0 || oc < 0 || oa + extA > lenA || ob + extB > lenB || oc + extC > lenC) {
      throw Napi::RangeError::New(info.Env(), "forge_native.gemmBatch: product " + std::to_string(i) +
                                                  " reaches outside its arrays");
    }
  }
  if (M == 0 || N == 0) return info.Env().Undefined();
  const CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
  auto one = [&](int64_t i) {
    float* ci = c + offsets[3 * i + 2];
    if (K == 0) {
      for (int64_t r = 0; r < M; ++r) {
        for (int64_t col = 0; col < N; ++col) ci[r * ldc + col] = beta == 0.0f ? 0.0f : beta * ci[r * ldc + col];
      }
      return;
    }
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha,
                a + offsets[3 * i], static_cast<blasint>(lda), b + offsets[3 * i + 1], static_cast<blasint>(ldb), beta,
                ci, static_cast<blasint>(ldc));
  };
  // Many small products: one per thread with single-threaded OpenBLAS. Few large ones: in turn,
  // each on every thread. (Products of a batch never overlap in C.)
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (batch >= 2 && NumThreads() > 1 && work <= 16.0 * 1024 * 1024) {
    ParallelTasks(batch, [&](int64_t i, int) { one(i); });
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmBatch", Napi::Function::New(env, GemmBatch, "gemmBatch"));
}

}  // namespace forge
