// Transparent huge pages for the malloc heap. tuneMalloc serves every allocation, tensors and the
// trainer's flat buffers alike, from glibc's main arena and never gives it back; in 4 KiB pages a
// training step's GEMMs then walk page tables for their gigabytes of operands (the dTLB covers a
// few MiB). Where the system leaves huge pages to the process (THP "madvise", the usual default),
// advising the heap once it has reached its working size, and collapsing what is already there,
// made a `small` step ~3.5% and a GPT-2 124M step ~4-7% faster at the same RSS. Linux only;
// elsewhere it reports that it did nothing.
//
// The main arena is the brk heap ([heap]) only until the heap runs into another mapping (V8
// reserves address space at addresses of its own choosing, sometimes just past the heap); glibc then
// goes on in anonymous mappings of its own. In bench:scaling one worker's [heap] stopped at 114 MiB
// with 2.3 GiB of tensors in two such mappings. So the large anonymous read-write mappings are
// collapsed too, but only their stretches that are (nearly) all resident, as malloc's are: a sparse
// stretch (V8 commits its heap in 256 KiB pages) would be filled to 2 MiB.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
constexpr uint64_t kPage = 4096;
// An anonymous mapping this large may hold the main arena's memory (or a secondary arena's large
// chunks, which glibc maps one by one); the heaps of secondary arenas are at most 64 MiB.
constexpr uint64_t kMinRegion = 32u << 20;
// A stretch with at least this many of its 512 pages resident is collapsed outside [heap].
constexpr int kDensePages = 448;

#if defined(__linux__)
// The 2 MiB-aligned interior of a mapping that may hold malloc's memory; `heap` for [heap].
struct Region {
  uint64_t from, to;
  bool heap;
};

// [heap] and every anonymous private read-write mapping of kMinRegion or more, from /proc/self/maps.
std::vector<Region> MallocRegions() {
  std::vector<Region> regions;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, path;
    uint64_t inode = 0;
    fields >> range >> perms >> offset >> device >> inode >> path;
    const uint64_t start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    const uint64_t end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    const bool heap = path == "[heap]";
    const bool anonymous = path.empty() && inode == 0 && perms == "rw-p" && end - start >= kMinRegion;
    if (!heap && !anonymous) continue;
    const uint64_t from = (start + kHugePage - 1) & ~(kHugePage - 1), to = end & ~(kHugePage - 1);
    if (to > from) regions.push_back({from, to, heap});
  }
  return regions;
}

// Whether at least kDensePages of the stretch's pages are resident.
bool Dense(uint64_t at) {
  unsigned char resident[kHugePage / kPage];
  if (mincore(reinterpret_cast<void*>(at), kHugePage, resident) != 0) return false;
  int count = 0;
  for (unsigned char page : resident) count += page & 1;
  return count >= kDensePages;
}

// What collapsing a set of stretches did.
struct Collapse {
  uint64_t tried = 0, collapsed = 0, failed = 0;
  int lastErrno = 0;
};

// Collapses the region one 2 MiB stretch at a time (outside [heap], only its dense stretches). One
// MADV_COLLAPSE over a whole range stops at the first stretch whose failure the kernel does not step
// over, and reports only the last error: in a bench:scaling worker (other threads allocating while
// the compute thread collapsed) one call left 1.5 of 2.1 GiB in 4 KiB pages, where the same heap
// collapsed stretch by stretch minutes later into huge pages but for 57 stretches (EINVAL) and one
// (EAGAIN). A stretch already in a huge page succeeds at no cost.
void CollapseStretches(const Region& region, Collapse* done) {
  for (uint64_t at = region.from; at < region.to; at += kHugePage) {
    if (!region.heap && !Dense(at)) continue;
    ++done->tried;
    if (madvise(reinterpret_cast<void*>(at), kHugePage, MADV_COLLAPSE) == 0) {
      done->collapsed += kHugePage;
    } else {
      ++done->failed;
      done->lastErrno = errno;
    }
  }
}
#endif

// adviseHugePages(collapse) -> { bytes, collapsed, collapsedBytes, error }: marks the 2 MiB-aligned
// interior of the [heap] mapping MADV_HUGEPAGE (its later faults get huge pages) and, with
// collapse, turns the pages already there, and the dense stretches of the large anonymous mappings
// (see the top of this file), into huge ones now (MADV_COLLAPSE, synchronous: 1-2 s per GiB).
// `bytes` counts the heap and those mappings. Stretches the kernel cannot collapse now (EAGAIN:
// busy pages; EINVAL: no pages there; ENOMEM: no free huge page) stay as they were and `error`
// says how many; `collapsed` is true only when every stretch tried was.
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool collapse = info.Length() > 0 && info[0].ToBoolean().Value();
  Napi::Object result = Napi::Object::New(env);
  uint64_t bytes = 0;
  std::string error;
#if defined(__linux__)
  Collapse done;
  for (const Region& region : MallocRegions()) {
    if (region.heap && madvise(reinterpret_cast<void*>(region.from), region.to - region.from, MADV_HUGEPAGE) != 0) {
      error = std::string("madvise(MADV_HUGEPAGE): ") + std::strerror(errno);
      break;
    }
    bytes += region.to - region.from;
    if (collapse) CollapseStretches(region, &done);
  }
  if (done.failed > 0 && error.empty()) {
    error = "madvise(MADV_COLLAPSE): " + std::to_string(done.failed) + " of " + std::to_string(done.tried) +
            " stretches of 2 MiB not collapsed (last: " + std::strerror(done.lastErrno) + ")";
  }
  result.Set("collapsedBytes", Napi::Number::New(env, static_cast<double>(done.collapsed)));
  result.Set("collapsed", Napi::Boolean::New(env, collapse && done.tried > 0 && error.empty()));
#else
  error = "huge pages are advised on Linux only";
  result.Set("collapsed", Napi::Boolean::New(env, false));
#endif
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
  if (!error.empty()) result.Set("error", Napi::String::New(env, error));
  return result;
}

}  // namespace

void InitHugePages(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));
}

}  // namespace forge
