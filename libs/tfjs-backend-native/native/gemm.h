// Single-precision GEMM on the addon's own threads: OpenBLAS runs single-threaded inside each task,
// so the addon's pool is the only set of threads on the machine (no second pool spinning beside it).
#pragma once

#include <cstdint>

namespace forge {

/** Operands of one row-major product C = alpha op(A) op(B) + beta C. */
struct GemmArgs {
  bool transA, transB;
  int64_t M, N, K;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

/** Single-threaded cblas_sgemm of `g` on the calling thread. */
void GemmSerial(const GemmArgs& g);

/**
 * `g` split into column or row blocks of C handed out to the pool's threads as they come free, so
 * that a thread slowed by other work on the machine takes fewer blocks instead of holding the rest
 * back. Blocks cut the larger of M and N, so the operand packed again per block is the small one.
 */
void GemmParallel(const GemmArgs& g);

}  // namespace forge
