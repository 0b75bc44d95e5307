// A small persistent thread pool: the only threads of the addon. Element-wise, row-wise and GEMM
// kernels split their work over it; OpenBLAS is held at one thread and called inside its tasks.
#pragma once

#include <cstdint>
#include <functional>

namespace forge {

/** Threads used by the kernels (the caller's thread counts as one). */
int NumThreads();

/** Sets the pool's thread count (and holds OpenBLAS at one thread: the pool parallelises it). */
void SetNumThreads(int n);

/**
 * Runs body(begin, end) over contiguous parts that cover [0, total), up to four per thread and
 * each at least `grain` items (so small jobs stay on the calling thread), claimed by the threads
 * as they come free. Blocks until every part is done. Part boundaries depend only on total, grain
 * and the thread count, never on timing.
 */
void ParallelFor(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

/**
 * Runs body(task, worker) for each task in [0, numTasks), handed out dynamically; `worker`
 * is in [0, NumThreads()) and identifies per-thread scratch. Bodies may call cblas_sgemm
 * (single-threaded) without oversubscribing the cores.
 */
void ParallelTasks(int64_t numTasks, const std::function<void(int64_t, int)>& body);

}  // namespace forge
