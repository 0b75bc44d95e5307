// Batched single-precision GEMM on OpenBLAS: C_i = alpha * op(A_i) op(B_i) + beta * C_i, row major,
// with per-batch element offsets (which express strided, broadcast and folded batches alike).
// OpenBLAS runs single-threaded; the addon's pool splits each large product into blocks of C.
#include <cblas.h>

#include <string>

#include "common.h"
#include "gemm.h"
#include "thread-pool.h"

namespace forge {

namespace {

// One row of C (M = 1, a decoding step): C[0, :] = alpha a op(B) + beta C as a matrix-vector
// product over B, which reads B once where a GEMM would first copy it into packed panels.
void GemvRow(const GemmArgs& g) {
  const blasint incA = static_cast<blasint>(g.transA ? g.lda : 1);
  if (g.transB) {  // B [N, K]: c = B a
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(g.N), static_cast<blasint>(g.K), g.alpha, g.b,
                static_cast<blasint>(g.ldb), g.a, incA, g.beta, g.c, 1);
  } else {  // B [K, N]: c = B^T a
    cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<blasint>(g.K), static_cast<blasint>(g.N), g.alpha, g.b,
                static_cast<blasint>(g.ldb), g.a, incA, g.beta, g.c, 1);
  }
}

}  // namespace

void GemmSerial(const GemmArgs& g) {
  if (g.M == 1 && g.K > 0) {
    GemvRow(g);
    return;
  }
  if (g.K == 0) {
    for (int64_t r = 0; r < g.M; ++r) {
      float* row = g.c + r * g.ldc;
      for (int64_t col = 0; col < g.N; ++col) row[col] = g.beta == 0.0f ? 0.0f : g.beta * row[col];
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, g.transA ? CblasTrans : CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(g.M), static_cast<blasint>(g.N), static_cast<blasint>(g.K), g.alpha, g.a,
              static_cast<blasint>(g.lda), g.b, static_cast<blasint>(g.ldb), g.beta, g.c, static_cast<blasint>(g.ldc));
}

namespace {

// A product below this many multiply-adds runs on one thread: waking a second costs more.
constexpr double kParallelWork = 2.0 * 1024 * 1024;
// The same for one row (M = 1), bound by reading B: a second thread pays off on 1 MB of B.
constexpr double kParallelRowWork = 256.0 * 1024;
// At most this many blocks per thread: more balance when other work holds a thread off its core.
constexpr int64_t kMaxBlocksPerThread = 4;
// Each block packs the other operand again (K x the whole other dimension), about as costly as 30
// multiply-adds per element; blocks of 512 rows or columns keep that near 5% of the block's work.
constexpr int64_t kPackedEdge = 512;
// Fewest multiply-adds in a block (~2 ms on one core).
constexpr double kMinBlockWork = 128.0 * 1024 * 1024;

// Blocks of a product: a multiple of the thread count (equal shares on an idle machine), more of
// them only when each stays at least kPackedEdge wide and kMinBlockWork large.
int64_t BlockCount(int64_t extent, double work, int threads) {
  const int64_t byEdge = extent / (kPackedEdge * threads);
  const int64_t byWork = static_cast<int64_t>(work / (kMinBlockWork * threads));  // 0 for one row
  const int64_t perThread = std::max<int64_t>(1, std::min<int64_t>({kMaxBlocksPerThread, byEdge, byWork}));
  return std::min<int64_t>(threads * perThread, extent / 16);
}

}  // namespace

void GemmParallel(const GemmArgs& g) {
  const double work = static_cast<double>(g.M) * static_cast<double>(g.N) * static_cast<double>(g.K);
  const int threads = NumThreads();
  const bool splitColumns = g.N >= g.M;
  const int64_t extent = splitColumns ? g.N : g.M;
  const int64_t blocks = BlockCount(extent, work, threads);
  if (threads <= 1 || work < (g.M == 1 ? kParallelRowWork : kParallelWork) || blocks < 2) {
    GemmSerial(g);
    return;
  }
  // Edges a multiple of 16 (OpenBLAS's register tiles on AVX2 and AVX-512), the last one shorter.
  const int64_t edge = ((extent + blocks - 1) / blocks + 15) / 16 * 16;
  const int64_t count = (extent + edge - 1) / edge;
  ParallelTasks(count, [&](int64_t block, int) {
    const int64_t begin = block * edge, size = std::min(edge, extent - begin);
    GemmArgs part = g;
    if (splitColumns) {  // C[:, begin:begin+size] = op(A) op(B)[:, begin:begin+size]
      part.N = size;
      part.b = g.b + (g.transB ? begin * g.ldb : begin);
      part.c = g.c + begin;
    } else {  // C[begin:begin+size, :] = op(A)[begin:begin+size, :] op(B)
      part.M = size;
      part.a = g.a + (g.transA ? begin : begin * g.lda);
      part.c = g.c + begin * g.ldc;
    }
    GemmSerial(part);
  });
}

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
  auto product = [&](int64_t i) {
    return GemmArgs{transA, transB, M, N, K, alpha, a + offsets[3 * i], lda, b + offsets[3 * i + 1], ldb, beta,
                    c + offsets[3 * i + 2], ldc};
  };
  // Many small products: one per task. Few large ones: in turn, each split over the threads.
  // (Products of a batch never overlap in C.)
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (batch >= 2 && NumThreads() > 1 && work <= 16.0 * 1024 * 1024) {
    ParallelTasks(batch, [&](int64_t i, int) { GemmSerial(product(i)); });
  } else {
    for (int64_t i = 0; i < batch; ++i) GemmParallel(product(i));
  }
  return info.Env().Undefined();
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmBatch", Napi::Function::New(env, GemmBatch, "gemmBatch"));
}

}  // namespace forge
