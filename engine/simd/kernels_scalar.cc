// The reference kernel: plain loops, no SIMD. Every other kernel must give
// exactly its answers.
#include <cstring>

#include "engine/simd/kernels.h"

namespace logtally::engine::simd {
namespace {

const char* FindNewline(const char* p, const char* end) {
  while (p < end && *p != '\n') ++p;
  return p;
}

const char* FindInEq(const char* p, const char* end) {
  for (; end - p >= 3; ++p) {
    if (p[0] == 'I' && p[1] == 'N' && p[2] == '=') return p;
  }
  return end;
}

uint64_t SpaceMask(const char* p, const char* end) {
  uint64_t m = 0;
  for (int k = 0; k < 64; ++k) {
    if (p + k >= end || p[k] == ' ') m |= uint64_t{1} << k;
  }
  return m;
}

const char* FindNeedle(const char* p, const char* end, const char* needle, size_t len) {
  for (; end - p >= static_cast<ptrdiff_t>(len); ++p) {
    if (std::memcmp(p, needle, len) == 0) return p;
  }
  return end;
}

void FindNeedles(const char* p, const char* end, const NeedleSet& set, const char** found) {
  FindNeedlesOneByOne(FindNeedle, p, end, set, found);
}

}  // namespace

const Kernels& ScalarKernels() {
  static const Kernels k{"scalar", FindNewline, FindInEq, SpaceMask, FindNeedle, FindNeedles};
  return k;
}

}  // namespace logtally::engine::simd
