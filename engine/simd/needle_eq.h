// Verifying a needle candidate without a library call. Both ranges hold at
// least `len` bytes; overlapping loads cover every length from 4 to 16 without
// reading outside them. Plain C++ (no ISA attributes), so it is safe to
// include from every kernel file.
#ifndef LOGTALLY_ENGINE_SIMD_NEEDLE_EQ_H_
#define LOGTALLY_ENGINE_SIMD_NEEDLE_EQ_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace logtally::engine::simd {

static inline bool NeedleEq(const char* a, const char* b, size_t len) {
  if (len >= 8 && len <= 16) {
    uint64_t a0, b0, a1, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + len - 8, 8);
    std::memcpy(&b1, b + len - 8, 8);
    return a0 == b0 && a1 == b1;
  }
  if (len >= 4 && len < 8) {
    uint32_t a0, b0, a1, b1;
    std::memcpy(&a0, a, 4);
    std::memcpy(&b0, b, 4);
    std::memcpy(&a1, a + len - 4, 4);
    std::memcpy(&b1, b + len - 4, 4);
    return a0 == b0 && a1 == b1;
  }
  return std::memcmp(a, b, len) == 0;
}

}  // namespace logtally::engine::simd

#endif  // LOGTALLY_ENGINE_SIMD_NEEDLE_EQ_H_
