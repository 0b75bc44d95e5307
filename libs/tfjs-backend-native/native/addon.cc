// forge_native: OpenBLAS GEMM and fused training kernels for the LLM Forge TensorFlow.js backend.
// Module entry point: thread configuration and registration of every kernel family.
#include <cblas.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 0, "numThreads");
  if (n < 1) throw Napi::RangeError::New(info.Env(), "forge_native: numThreads must be at least 1");
  SetNumThreads(static_cast<int>(n));
  return Napi::Number::New(info.Env(), NumThreads());
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), NumThreads()); }

Napi::Value BlasConfig(const Napi::CallbackInfo& info) {
  const char* config = openblas_get_config();
  return Napi::String::New(info.Env(), config ? config : "unknown");
}

Napi::Value BlasCoreName(const Napi::CallbackInfo& info) {
  const char* name = openblas_get_corename();
  return Napi::String::New(info.Env(), name ? name : "unknown");
}

// Serves every allocation from the reusable heap instead of fresh mmap'ed pages (glibc only).
// A training step allocates the same large tensors (logits, their gradient, embedding gradients)
// every step; as fresh mappings each costs a page fault per 4 KiB, about 10% of a step. Freed
// memory is then kept for reuse rather than returned to the system.
// One arena: a thread other than the main one (the worker's compute thread, the coordinator's
// generation thread) otherwise gets an arena of its own, made of 64 MiB heaps that glibc unmaps as
// soon as they are empty, whatever the trim threshold: every step then faults its tensors in
// afresh (a worker thread trained `small` 1.57x slower than the main thread). Only threads that
// first allocate after this call are affected, so a process calls it before starting such threads.
Napi::Value TuneMalloc(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1 &&
                  mallopt(M_ARENA_MAX, 1) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// Which malloc arena serves the calling thread: "main" (the brk heap that tuneMalloc and the huge
// pages are for), "secondary" or "unknown" (not glibc). A thread is bound to an arena at its first
// allocation. After tuneMalloc a new thread shares an arena that exists, taken in turn from the
// main one on and skipping any that another thread holds at that instant, so a thread started
// after it can still land on another thread's arena (seen once: a worker's compute thread in a
// bench:scaling run). Read from the chunk header of a small allocation: glibc marks chunks of a
// non-main arena (NON_MAIN_ARENA, 0x4 in the size field just before the pointer; stable since
// glibc 2.3).
Napi::Value MallocArena(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  void* probe = malloc(64);
  if (probe == nullptr) return Napi::String::New(info.Env(), "unknown");
  const size_t header = reinterpret_cast<const size_t*>(probe)[-1];
  free(probe);
  return Napi::String::New(info.Env(), (header & 0x4) != 0 ? "secondary" : "main");
#else
  return Napi::String::New(info.Env(), "unknown");
#endif
}

// Frees an ArrayBuffer's memory now instead of when the garbage collector finds the buffer
// unreachable: detaching drops its backing store, whose memory goes back to malloc for the next
// allocation. For memory the caller knows no view of is left (the tensor memory pool's evictions).
Napi::Value DetachArrayBuffer(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    throw Napi::TypeError::New(info.Env(), "forge_native: detachArrayBuffer expects an ArrayBuffer");
  }
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (!buffer.IsDetached()) buffer.Detach();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetThreads, "getNumThreads"));
  exports.Set("blasConfig", Napi::Function::New(env, BlasConfig, "blasConfig"));
  exports.Set("blasCoreName", Napi::Function::New(env, BlasCoreName, "blasCoreName"));
  exports.Set("tuneMalloc", Napi::Function::New(env, TuneMalloc, "tuneMalloc"));
  exports.Set("mallocArena", Napi::Function::New(env, MallocArena, "mallocArena"));
  exports.Set("detachArrayBuffer", Napi::Function::New(env, DetachArrayBuffer, "detachArrayBuffer"));
  InitGemm(env, exports);
  InitLayerNorm(env, exports);
  InitGelu(env, exports);
  InitDropout(env, exports);
  InitAttention(env, exports);
  InitCrossEntropy(env, exports);
  InitSoftmax(env, exports);
  InitTranspose(env, exports);
  InitSegmentSum(env, exports);
  InitFlatMath(env, exports);
  InitElementwise(env, exports);
  InitReduceSum(env, exports);
  InitHugePages(env, exports);
  return exports;
}

}  // namespace
}  // namespace forge

static Napi::Object InitForgeNative(Napi::Env env, Napi::Object exports) { return forge::Init(env, exports); }

NODE_API_MODULE(forge_native, InitForgeNative)
