#include "thread-pool.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace forge {
namespace {

// Parts per thread of a ParallelFor: a thread that another process holds off its core takes
// fewer parts, instead of the whole kernel waiting for its one large part.
constexpr int64_t kPartsPerThread = 4;

// How long a thread polls before it sleeps: a worker after a job (the next kernel usually starts
// within this), the caller for the last workers to finish. A thread woken from sleep on a busy
// machine may wait a whole scheduler time slice (milliseconds) for a core; polling this briefly
// costs little and saves that wait at every kernel boundary. Longer spinning would take the cores
// from other processes.
constexpr std::chrono::microseconds kSpin{200};

// Polls `done` (relaxed loads, a pause between them) for up to kSpin; true once it holds.
template <typename Done>
bool SpinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

// The pool is created once and never destroyed: workers poll briefly after a job (kSpin), then
// block on a condition variable while idle, and die with the process.
//
// Every job is a loop that claims tasks until none are left, so the caller never depends on a
// worker: when the caller has run out of tasks it closes the job and waits only for the workers
// that joined it. A worker that wakes late (its core busy elsewhere) finds the job closed and
// goes back to sleep, instead of the caller waiting a scheduler time slice for it.
struct Pool {
  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable done;
  std::vector<std::thread> threads;
  std::atomic<uint64_t> generation{0};            // written under mu, polled without it
  const std::function<void(int)>* job = nullptr;  // null once the caller has closed the job
  int jobWorkers = 0;                             // workers (besides the caller) invited to it
  std::atomic<int> active{0};                     // workers inside the job's body (changed under mu)
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
    if (pool->generation.load(std::memory_order_relaxed) == seen) {
      lock.unlock();
      SpinUntil([&] { return pool->generation.load(std::memory_order_relaxed) != seen; });
      lock.lock();
      pool->wake.wait(lock, [&] { return pool->generation.load(std::memory_order_relaxed) != seen; });
    }
    seen = pool->generation.load(std::memory_order_relaxed);
    const std::function<void(int)>* job = pool->job;
    if (job == nullptr || index > pool->jobWorkers) continue;
    pool->active.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    try {
      (*job)(index);
    } catch (...) {
      // Kernels do not throw; never let a worker take the process down.
    }
    lock.lock();
    if (pool->active.fetch_sub(1, std::memory_order_release) == 1) pool->done.notify_one();
  }
}

// Runs fn(worker) on the caller (worker 0) and on up to `workers` - 1 pool threads that join in
// time; fn must claim its work dynamically, since any worker but the caller may not run it.
void Run(int workers, const std::function<void(int)>& fn) {
  Pool& pool = GetPool();
  workers = std::min(workers, pool.numThreads);
  std::unique_lock<std::mutex> running(pool.runMu, std::try_to_lock);
  if (workers <= 1 || !running.owns_lock()) {
    // One thread, or the pool is busy with another JS thread's job: the caller does it all.
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.job = &fn;
    pool.jobWorkers = workers - 1;
    pool.generation.fetch_add(1, std::memory_order_relaxed);
  }
  pool.wake.notify_all();
  fn(0);
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.job = nullptr;  // from here no worker joins
  }
  if (SpinUntil([&] { return pool.active.load(std::memory_order_acquire) == 0; })) return;
  std::unique_lock<std::mutex> lock(pool.mu);
  pool.done.wait(lock, [&] { return pool.active.load(std::memory_order_acquire) == 0; });
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
      pool.threads.emplace_back(WorkerLoop, &pool, index, pool.generation.load());
      pool.threads.back().detach();
    }
    pool.numThreads = n;
  }
  // Every parallel kernel, GEMM included (gemm.h), splits its work over this pool and calls
  // OpenBLAS single-threaded: OpenBLAS's own threads would spin after each call (sched_yield for
  // up to 2^28 cycles), taking the cores from the pool's next kernel and from other processes.
  openblas_set_num_threads(1);
}

void ParallelFor(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (total <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t maxParts = std::max<int64_t>(1, total / grain);
  const int64_t parts = std::min<int64_t>(NumThreads() * kPartsPerThread, maxParts);
  if (parts <= 1 || NumThreads() <= 1) {
    body(0, total);
    return;
  }
  ParallelTasks(parts, [&](int64_t part, int) {
    const int64_t begin = total * part / parts;
    const int64_t end = total * (part + 1) / parts;
    if (begin < end) body(begin, end);
  });
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
  Run(workers, fn);
}

}  // namespace forge
