// AVX2 kernel: 32 bytes per step. Functions carry target("avx2") and have
// internal linkage, so nothing compiled for AVX2 escapes this file.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "engine/simd/kernels.h"
#include "engine/simd/needle_eq.h"

#define LT_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

namespace logtally::engine::simd {
namespace {

constexpr int kW = 32;

LT_AVX2 inline uint32_t EqMask(const char* p, char c) {
  __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(c))));
}

LT_AVX2 const char* FindNewline(const char* p, const char* end) {
  for (; end - p >= 2 * kW; p += 2 * kW) {
    uint64_t m = EqMask(p, '\n') | (static_cast<uint64_t>(EqMask(p + kW, '\n')) << kW);
    if (m != 0) return p + __builtin_ctzll(m);
  }
  for (; end - p >= kW; p += kW) {
    uint32_t m = EqMask(p, '\n');
    if (m != 0) return p + __builtin_ctz(m);
  }
  if (p < end) {
    alignas(32) char buf[kW];
    size_t n = static_cast<size_t>(end - p);
    std::memcpy(buf, p, n);
    std::memset(buf + n, '\n', kW - n);
    return p + __builtin_ctz(EqMask(buf, '\n'));  // lands on end when absent
  }
  return end;
}

LT_AVX2 const char* FindInEq(const char* p, const char* end) {
  for (; end - p >= kW + 2; p += kW) {
    uint32_t m = EqMask(p, 'I') & EqMask(p + 1, 'N') & EqMask(p + 2, '=');
    if (m != 0) return p + __builtin_ctz(m);
  }
  if (end - p >= 3) {
    // Tail of 3..33 bytes: pad with zeros (which match none of I, N, =).
    alignas(32) char buf[kW + 2 + 2];
    size_t n = static_cast<size_t>(end - p);
    std::memset(buf, 0, sizeof buf);
    std::memcpy(buf, p, n);
    uint32_t m = EqMask(buf, 'I') & EqMask(buf + 1, 'N') & EqMask(buf + 2, '=');
    if (m != 0) return p + __builtin_ctz(m);
  }
  return end;
}

LT_AVX2 uint64_t SpaceMask(const char* p, const char* end) {
  if (end - p >= 64) {
    return EqMask(p, ' ') | (static_cast<uint64_t>(EqMask(p + kW, ' ')) << kW);
  }
  alignas(32) char buf[64];
  size_t n = end > p ? static_cast<size_t>(end - p) : 0;
  std::memset(buf, ' ', sizeof buf);
  std::memcpy(buf, p, n);
  return EqMask(buf, ' ') | (static_cast<uint64_t>(EqMask(buf + kW, ' ')) << kW);
}

LT_AVX2 const char* FindNeedle(const char* p, const char* end, const char* needle, size_t len) {
  const ptrdiff_t span = static_cast<ptrdiff_t>(len);
  for (; end - p >= kW + span - 1; p += kW) {
    uint32_t m = EqMask(p, needle[0]) & EqMask(p + 1, needle[1]) & EqMask(p + len - 1, needle[len - 1]);
    while (m != 0) {
      const char* c = p + __builtin_ctz(m);
      if (NeedleEq(c, needle, len)) return c;
      m &= m - 1;
    }
  }
  if (end - p >= span) {
    // Tail shorter than a vector plus the needle: search a zero-padded copy
    // (a candidate must lie wholly inside the real bytes).
    alignas(32) char buf[2 * kW + 64];
    size_t n = static_cast<size_t>(end - p);
    if (n + len <= sizeof buf) {
      std::memset(buf, 0, sizeof buf);
      std::memcpy(buf, p, n);
      uint32_t m = EqMask(buf, needle[0]) & EqMask(buf + 1, needle[1]) &
                   EqMask(buf + len - 1, needle[len - 1]);
      while (m != 0) {
        size_t off = static_cast<size_t>(__builtin_ctz(m));
        if (off + len <= n && std::memcmp(p + off, needle, len) == 0) return p + off;
        m &= m - 1;
      }
      return end;
    }
    for (; end - p >= span; ++p) {
      if (p[0] == needle[0] && std::memcmp(p, needle, len) == 0) return p;
    }
  }
  return end;
}

// One pass for all needles, 32 bytes per step, as in the AVX-512 kernel; the
// tail (shorter than a step plus the longest needle) goes needle by needle.
LT_AVX2 void FindNeedles(const char* p, const char* end, const NeedleSet& set, const char** found) {
  const size_t n = set.count;
  uint64_t pending = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  __m256i c0[NeedleSet::kMax], c1[NeedleSet::kMax];
  size_t max_len = 2;
  for (size_t i = 0; i < n; ++i) {
    found[i] = end;
    c0[i] = _mm256_set1_epi8(set.text[i][0]);
    c1[i] = _mm256_set1_epi8(set.text[i][1]);
    if (set.len[i] > max_len) max_len = set.len[i];
  }
  for (; (pending & set.stop) != 0 && end - p >= kW + static_cast<ptrdiff_t>(max_len) - 1; p += kW) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 1));
    for (uint64_t todo = pending; todo != 0; todo &= todo - 1) {
      const size_t i = static_cast<size_t>(__builtin_ctzll(todo));
      const size_t len = set.len[i];
      uint32_t m = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(b0, c0[i]))) &
                   static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(b1, c1[i]))) &
                   EqMask(p + len - 1, set.text[i][len - 1]);
      while (m != 0) {
        const char* c = p + __builtin_ctz(m);
        if (NeedleEq(c, set.text[i], len)) {
          found[i] = c;
          pending &= ~(uint64_t{1} << i);
          break;
        }
        m &= m - 1;
      }
    }
  }
  if ((pending & set.stop) == 0) return;
  for (uint64_t todo = pending; todo != 0; todo &= todo - 1) {
    const size_t i = static_cast<size_t>(__builtin_ctzll(todo));
    found[i] = FindNeedle(p, end, set.text[i], set.len[i]);
  }
}

}  // namespace

const Kernels& Avx2Kernels() {
  static const Kernels k{"avx2", FindNewline, FindInEq, SpaceMask, FindNeedle, FindNeedles};
  return k;
}

}  // namespace logtally::engine::simd
