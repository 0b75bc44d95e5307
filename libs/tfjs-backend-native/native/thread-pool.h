// A small persistent thread pool for element-wise and row-wise kernels, sized together with
// OpenBLAS so that the two never run more threads than cores at once.
#pragma once

#include <cstdint>
#include <functional>

namespace forge {

/** Threads used by kernels and by OpenBLAS (the caller's thread counts as one). */
int NumThreads();

/** Sets the thread count for the pool and for OpenBLAS (openblas_set_num_threads). */
void SetNumThreads(int n);

/**
 * Runs body(begin, end) over contiguous chunks that cover [0, total), one chunk per thread,
 * each chunk at least `grain` items (so small jobs stay on the calling thread). Blocks until
 * every chunk is done. Chunk boundaries depend only on total, grain and the thread count.
 */
void ParallelFor(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

/**
 * Runs body(task, worker) for each task in [0, numTasks), handed out dynamically; `worker`
 * is in [0, NumThreads()) and identifies per-thread scratch. OpenBLAS is held at one thread
 * meanwhile, so bodies may call cblas_sgemm without oversubscribing the cores.
 */
void ParallelTasks(int64_t numTasks, const std::function<void(int64_t, int)>& body);

}  // namespace forge
