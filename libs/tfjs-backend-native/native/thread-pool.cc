#include "thread-pool.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace forge {
namespace {

// The pool is created once and never destroyed: workers block on a condition variable while
// idle (no spinning that would steal cores from OpenBLAS) and die with the process.
struct Pool {
  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable done;
  std::vector<std::thread> threads;
  uint64_t generation = 0;
  const std::function<void(int)>* job = nullptr;
  int jobWorkers = 0;  // workers (besides the caller) taking part in the current job
  int pending = 0;
  int numThreads = 1;
  std::mutex runMu;  // one job at a time (JS worker threads may share the addon)
};

Pool& GetPool() {
  static Pool* pool = new Pool();
  return *pool;
}

void WorkerLoop(Pool* pool, int index, uint64_t seen) {
  std::unique_lock<std::mutex> lock(pool->mu);
  for (;;) {
    pool->wake.wait(lock, [&] { return pool->generation != seen; });
    seen = pool->generation;
    if (index > pool->jobWorkers) continue;
    const std::function<void(int)>* job = pool->job;
    lock.unlock();
    try {
      (*job)(index);
    } catch (...) {
      // Kernels do not throw; never let a worker take the process down.
    }
    lock.lock();
    if (--pool->pending == 0) pool->done.notify_one();
  }
}

// Runs fn(worker) on `workers` threads, the caller being worker 0.
void Run(int workers, const std::function<void(int)>& fn) {
  Pool& pool = GetPool();
  workers = std::min(workers, pool.numThreads);
  std::unique_lock<std::mutex> running(pool.runMu, std::try_to_lock);
  if (workers <= 1 || !running.owns_lock()) {
    // One thread, or the pool is busy with another JS thread's job: run every part here.
    for (int w = 0; w < workers; ++w) fn(w);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.job = &fn;
    pool.jobWorkers = workers - 1;
    pool.pending = workers - 1;
    ++pool.generation;
  }
  pool.wake.notify_all();
  fn(0);
  std::unique_lock<std::mutex> lock(pool.mu);
  pool.done.wait(lock, [&] { return pool.pending == 0; });
}

}  // namespace

int NumThreads() { return GetPool().numThreads; }

void SetNumThreads(int n) {
  Pool& pool = GetPool();
  n = std::max(1, std::min(n, 256));
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    while (static_cast<int>(pool.threads.size()) < n - 1) {
      const int index = static_cast<int>(pool.threads.size()) + 1;
      pool.threads.emplace_back(WorkerLoop, &pool, index, pool.generation);
      pool.threads.back().detach();
    }
    pool.numThreads = n;
  }
  openblas_set_num_threads(n);
}

void ParallelFor(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (total <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t maxChunks = std::max<int64_t>(1, total / grain);
  const int chunks = static_cast<int>(std::min<int64_t>(NumThreads(), maxChunks));
  if (chunks <= 1) {
    body(0, total);
    return;
  }
  const std::function<void(int)> fn = [&](int worker) {
    const int64_t begin = total * worker / chunks;
    const int64_t end = total * (worker + 1) / chunks;
    if (begin < end) body(begin, end);
  };
  Run(chunks, fn);
}

void ParallelTasks(int64_t numTasks, const std::function<void(int64_t, int)>& body) {
  if (numTasks <= 0) return;
  const int workers = static_cast<int>(std::min<int64_t>(NumThreads(), numTasks));
  if (workers <= 1) {
    for (int64_t t = 0; t < numTasks; ++t) body(t, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  const std::function<void(int)> fn = [&](int worker) {
    for (int64_t t = next.fetch_add(1); t < numTasks; t = next.fetch_add(1)) body(t, worker);
  };
  const int blasThreads = NumThreads();
  openblas_set_num_threads(1);
  Run(workers, fn);
  openblas_set_num_threads(blasThreads);
}

}  // namespace forge
