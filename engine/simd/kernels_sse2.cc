// SSE2 kernel: the baseline every x86-64 CPU has; 16 bytes per step.
#include <emmintrin.h>

#include <cstring>

#include "engine/simd/kernels.h"
#include "engine/simd/needle_eq.h"

namespace logtally::engine::simd {
namespace {

constexpr int kW = 16;

inline uint32_t EqMask(const char* p, char c) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
}

const char* FindNewline(const char* p, const char* end) {
  for (; end - p >= kW; p += kW) {
    uint32_t m = EqMask(p, '\n');
    if (m != 0) return p + __builtin_ctz(m);
  }
  while (p < end && *p != '\n') ++p;
  return p;
}

const char* FindInEq(const char* p, const char* end) {
  // Three shifted loads: a match at i needs p[i]='I', p[i+1]='N', p[i+2]='='.
  for (; end - p >= kW + 2; p += kW) {
    uint32_t m = EqMask(p, 'I') & EqMask(p + 1, 'N') & EqMask(p + 2, '=');
    if (m != 0) return p + __builtin_ctz(m);
  }
  for (; end - p >= 3; ++p) {
    if (p[0] == 'I' && p[1] == 'N' && p[2] == '=') return p;
  }
  return end;
}

uint64_t SpaceMask(const char* p, const char* end) {
  if (end - p >= 64) {
    uint64_t m = 0;
    for (int k = 0; k < 4; ++k) m |= static_cast<uint64_t>(EqMask(p + k * kW, ' ')) << (k * kW);
    return m;
  }
  // Tail: copy into a padded buffer, then mark everything past the end.
  alignas(16) char buf[64];
  size_t n = end > p ? static_cast<size_t>(end - p) : 0;
  std::memset(buf, ' ', sizeof buf);
  std::memcpy(buf, p, n);
  uint64_t m = 0;
  for (int k = 0; k < 4; ++k) m |= static_cast<uint64_t>(EqMask(buf + k * kW, ' ')) << (k * kW);
  return m;
}

const char* FindNeedle(const char* p, const char* end, const char* needle, size_t len) {
  // Candidates match the first, second and last needle bytes; the rest is
  // verified with memcmp (only inside [p, end)).
  const ptrdiff_t span = static_cast<ptrdiff_t>(len);
  for (; end - p >= kW + span - 1; p += kW) {
    uint32_t m = EqMask(p, needle[0]) & EqMask(p + 1, needle[1]) & EqMask(p + len - 1, needle[len - 1]);
    while (m != 0) {
      const char* c = p + __builtin_ctz(m);
      if (NeedleEq(c, needle, len)) return c;
      m &= m - 1;
    }
  }
  for (; end - p >= span; ++p) {
    if (p[0] == needle[0] && std::memcmp(p, needle, len) == 0) return p;
  }
  return end;
}

void FindNeedles(const char* p, const char* end, const NeedleSet& set, const char** found) {
  FindNeedlesOneByOne(FindNeedle, p, end, set, found);
}

}  // namespace

const Kernels& Sse2Kernels() {
  static const Kernels k{"sse2", FindNewline, FindInEq, SpaceMask, FindNeedle, FindNeedles};
  return k;
}

}  // namespace logtally::engine::simd
