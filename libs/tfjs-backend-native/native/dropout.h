// The counter-based dropout mask shared by the dropout kernel and fused attention: element i of a
// mask keeps its value iff Bits(key, i) >= threshold. No state, so any split of the elements over
// threads (and src/lib/math/dropout-js.ts, word for word) draws the same mask.
//   seed (a safe integer) -> lo = seed mod 2^32, hi = floor(seed / 2^32) mod 2^32
//   k1 = Mix(lo ^ Mix(hi + 0x9e3779b9)),  k2 = Mix(k1 + 0x6a09e667)
//   Bits(i) = Mix(Mix(i * 0x9e3779b9 ^ k1) + k2)       (all arithmetic mod 2^32, i mod 2^32)
//   threshold = floor(rate * 2^32), scale = float(1 / (1 - rate)), y = keep ? x * scale : 0
// Mix is MurmurHash3's 32-bit finaliser. Two rounds keyed by k1 and k2, rather than one over a
// seed-dependent offset, so that two seeds' masks are not shifted copies of one sequence.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>

namespace forge {

/** MurmurHash3's fmix32: a bijection of 32-bit words with full avalanche. */
static inline uint32_t Mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/** The per-call constants of a mask: keys from the seed, threshold and scale from the rate. */
struct DropoutMask {
  uint32_t k1 = 0, k2 = 0, threshold = 0;
  float scale = 1.0f;
  bool active = false;  // rate > 0

  DropoutMask() = default;
  DropoutMask(double rate, uint32_t seedLo, uint32_t seedHi) {
    active = rate > 0;
    k1 = Mix(seedLo ^ Mix(seedHi + 0x9e3779b9u));
    k2 = Mix(k1 + 0x6a09e667u);
    const double t = std::floor(rate * 4294967296.0);
    threshold = t >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(t);
    scale = static_cast<float>(1.0 / (1.0 - rate));
  }

  /** Whether element `index` (mod 2^32) is kept. */
  bool Keep(uint32_t index) const { return Mix(Mix((index * 0x9e3779b9u) ^ k1) + k2) >= threshold; }
};

/**
 * The mask of arguments first .. first + 2 of a call (rate, seedLo, seedHi), checked: rate in
 * [0, 1), 32-bit seed words; `kernel` names the function in the error.
 */
DropoutMask ReadDropout(const Napi::CallbackInfo& info, size_t first, const char* kernel);

}  // namespace forge
