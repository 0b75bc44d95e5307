// Transparent huge pages for the malloc heap. tuneMalloc serves every allocation, tensors and the
// trainer's flat buffers alike, from the one brk heap and never gives it back; in 4 KiB pages a
// training step's GEMMs then walk page tables for their gigabytes of operands (the dTLB covers a
// few MiB). Where the system leaves huge pages to the process (THP "madvise", the usual default),
// advising the heap once it has reached its working size, and collapsing what is already there,
// made a `small` step ~3.5% and a GPT-2 124M step ~4-7% faster at the same RSS. Linux only;
// elsewhere it reports that it did nothing.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "common.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1; older headers lack the name
#endif

namespace forge {
namespace {

constexpr uint64_t kHugePage = 2u << 20;

// adviseHugePages(collapse) -> { bytes, collapsed, error }: marks the 2 MiB-aligned interior of the
// [heap] mapping MADV_HUGEPAGE (its later faults get huge pages) and, with collapse, turns the
// pages already there into huge ones now (MADV_COLLAPSE, synchronous: 1-2 s per GiB). Where the
// kernel cannot collapse a range now (EAGAIN: no free huge page), that range stays as it was and
// `error` says so; `collapsed` is true only when all of it was.
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool collapse = info.Length() > 0 && info[0].ToBoolean().Value();
  Napi::Object result = Napi::Object::New(env);
  uint64_t advised = 0;
  bool collapsed = false;
  std::string error;
#if defined(__linux__)
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("[heap]") == std::string::npos) continue;
    const uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    const uint64_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    const uint64_t from = (start + kHugePage - 1) & ~(kHugePage - 1), to = end & ~(kHugePage - 1);
    if (to <= from) continue;
    void* at = reinterpret_cast<void*>(from);
    if (madvise(at, to - from, MADV_HUGEPAGE) != 0) {
      error = std::string("madvise(MADV_HUGEPAGE): ") + std::strerror(errno);
      break;
    }
    advised += to - from;
    if (collapse) {
      if (madvise(at, to - from, MADV_COLLAPSE) == 0) {
        collapsed = true;
      } else {
        error = std::string("madvise(MADV_COLLAPSE): ") + std::strerror(errno);
      }
    }
  }
#else
  error = "huge pages are advised on Linux only";
#endif
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(advised)));
  result.Set("collapsed", Napi::Boolean::New(env, collapsed));
  if (!error.empty()) result.Set("error", Napi::String::New(env, error));
  return result;
}

}  // namespace

void InitHugePages(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));
}

}  // namespace forge
