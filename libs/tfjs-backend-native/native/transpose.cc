// General transpose of 4-byte elements (float32 / int32). Dimensions of size 1 are dropped and
// input dimensions that stay adjacent are merged first, so the common 3-D/4-D cases become a
// row copy (last axis kept) or a cache-blocked 2-D tile transpose (last axis moved).
#include <vector>

#include "common.h"
#include "thread-pool.h"

namespace forge {
namespace {

constexpr int64_t kTile = 32;

struct Plan {
  std::vector<int64_t> shape;  // collapsed input shape
  std::vector<int> perm;       // collapsed permutation
};

Plan Collapse(const std::vector<int64_t>& shape, const std::vector<int>& perm) {
  std::vector<int> kept;  // input dims of size > 1, in output order
  for (int d : perm) {
    if (shape[static_cast<size_t>(d)] != 1) kept.push_back(d);
  }
  // Group runs of consecutive input dims (in output order).
  std::vector<std::vector<int>> groups;
  for (int d : kept) {
    if (!groups.empty() && groups.back().back() + 1 == d) {
      groups.back().push_back(d);
    } else {
      groups.push_back({d});
    }
  }
  // Collapsed input dims are the groups sorted by their first input dim.
  std::vector<size_t> order(groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return groups[a][0] < groups[b][0]; });
  Plan plan;
  std::vector<int> rankOfGroup(groups.size());
  for (size_t r = 0; r < order.size(); ++r) {
    int64_t size = 1;
    for (int d : groups[order[r]]) size *= shape[static_cast<size_t>(d)];
    plan.shape.push_back(size);
    rankOfGroup[order[r]] = static_cast<int>(r);
  }
  for (size_t g = 0; g < groups.size(); ++g) plan.perm.push_back(rankOfGroup[g]);
  return plan;
}

// transpose(x, y, shape, perm)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const int64_t rank = TypedLength(info, 2, "shape");
  const int32_t* shapeArg = I32Arg(info, 2, rank, "shape");
  const int32_t* permArg = I32Arg(info, 3, rank, "perm");
  std::vector<int64_t> shape(static_cast<size_t>(rank));
  std::vector<int> perm(static_cast<size_t>(rank));
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (shapeArg[i] < 0 || permArg[i] < 0 || permArg[i] >= rank || seen[static_cast<size_t>(permArg[i])]) {
      throw Napi::RangeError::New(info.Env(), "forge_native.transpose: invalid shape or permutation");
    }
    seen[static_cast<size_t>(permArg[i])] = true;
    shape[static_cast<size_t>(i)] = shapeArg[i];
    perm[static_cast<size_t>(i)] = permArg[i];
    total *= shapeArg[i];
  }
  const uint32_t* x = Word32Arg(info, 0, total, "x");
  uint32_t* y = Word32Arg(info, 1, total, "y");
  if (total == 0) return info.Env().Undefined();
  const Plan plan = Collapse(shape, perm);
  const int r = static_cast<int>(plan.shape.size());
  if (r <= 1) {
    ParallelFor(total, 1 << 16, [&](int64_t i0, int64_t i1) { std::memcpy(y + i0, x + i0, (i1 - i0) * 4); });
    return info.Env().Undefined();
  }
  std::vector<int64_t> inStride(static_cast<size_t>(r)), outShape(static_cast<size_t>(r)), outStride(static_cast<size_t>(r));
  inStride[static_cast<size_t>(r - 1)] = 1;
  for (int i = r - 2; i >= 0; --i) inStride[static_cast<size_t>(i)] = inStride[static_cast<size_t>(i + 1)] * plan.shape[static_cast<size_t>(i + 1)];
  for (int i = 0; i < r; ++i) outShape[static_cast<size_t>(i)] = plan.shape[static_cast<size_t>(plan.perm[static_cast<size_t>(i)])];
  outStride[static_cast<size_t>(r - 1)] = 1;
  for (int i = r - 2; i >= 0; --i) outStride[static_cast<size_t>(i)] = outStride[static_cast<size_t>(i + 1)] * outShape[static_cast<size_t>(i + 1)];
  // The input's last dim sits at output position q. If it stays last (q == r - 1), copy rows;
  // otherwise tile over output dims q and r - 1 and loop over the others.
  int q = 0;
  while (plan.perm[static_cast<size_t>(q)] != r - 1) ++q;
  if (q == r - 1) {
    const int64_t len = plan.shape[static_cast<size_t>(r - 1)];
    ParallelFor(total / len, std::max<int64_t>(1, 65536 / len), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        int64_t rest = o, inBase = 0;
        for (int k = r - 2; k >= 0; --k) {
          const size_t dim = static_cast<size_t>(k);
          inBase += (rest % outShape[dim]) * inStride[static_cast<size_t>(plan.perm[dim])];
          rest /= outShape[dim];
        }
        std::memcpy(y + o * len, x + inBase, static_cast<size_t>(len) * 4);
      }
    });
    return info.Env().Undefined();
  }
  std::vector<int> outer;
  for (int i = 0; i < r - 1; ++i) {
    if (i != q) outer.push_back(i);
  }
  int64_t outerCount = 1;
  for (int i : outer) outerCount *= outShape[static_cast<size_t>(i)];
  const int64_t nq = outShape[static_cast<size_t>(q)], nl = outShape[static_cast<size_t>(r - 1)];
  const int64_t outQ = outStride[static_cast<size_t>(q)];
  const int64_t inL = inStride[static_cast<size_t>(plan.perm[static_cast<size_t>(r - 1)])];
  ParallelFor(outerCount, std::max<int64_t>(1, 65536 / (nq * nl)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      int64_t rest = o, inBase = 0, outBase = 0;
      for (int k = static_cast<int>(outer.size()) - 1; k >= 0; --k) {
        const size_t dim = static_cast<size_t>(outer[static_cast<size_t>(k)]);
        const int64_t idx = rest % outShape[dim];
        rest /= outShape[dim];
        outBase += idx * outStride[dim];
        inBase += idx * inStride[static_cast<size_t>(plan.perm[dim])];
      }
      for (int64_t a0 = 0; a0 < nq; a0 += kTile) {
        const int64_t a1 = std::min(nq, a0 + kTile);
        for (int64_t b0 = 0; b0 < nl; b0 += kTile) {
          const int64_t b1 = std::min(nl, b0 + kTile);
          for (int64_t a = a0; a < a1; ++a) {
            uint32_t* dst = y + outBase + a * outQ;
            const uint32_t* src = x + inBase + a;
            for (int64_t b = b0; b < b1; ++b) dst[b] = src[b * inL];
          }
        }
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitTranspose(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
}

}  // namespace forge
