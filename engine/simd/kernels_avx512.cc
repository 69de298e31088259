// AVX-512BW kernel: 64 bytes per step; tails use masked loads, which never
// touch (or fault on) bytes outside the mask.
#include <immintrin.h>

#include <cstring>

#include "engine/simd/kernels.h"
#include "engine/simd/needle_eq.h"

#define LT_AVX512 __attribute__((target("avx512f,avx512bw,bmi,bmi2,popcnt")))

namespace logtally::engine::simd {
namespace {

constexpr int kW = 64;

LT_AVX512 inline __m512i Load(const char* p, const char* end) {
  ptrdiff_t n = end - p;
  if (n >= kW) return _mm512_loadu_si512(p);
  __mmask64 valid = n <= 0 ? 0 : _bzhi_u64(~uint64_t{0}, static_cast<unsigned>(n));
  return _mm512_maskz_loadu_epi8(valid, p);
}

LT_AVX512 inline uint64_t Valid(const char* p, const char* end) {
  ptrdiff_t n = end - p;
  if (n >= kW) return ~uint64_t{0};
  return n <= 0 ? 0 : _bzhi_u64(~uint64_t{0}, static_cast<unsigned>(n));
}

LT_AVX512 const char* FindNewline(const char* p, const char* end) {
  const __m512i nl = _mm512_set1_epi8('\n');
  for (; end - p >= kW; p += kW) {
    uint64_t m = _mm512_cmpeq_epi8_mask(_mm512_loadu_si512(p), nl);
    if (m != 0) return p + _tzcnt_u64(m);
  }
  if (p < end) {
    uint64_t m = _mm512_cmpeq_epi8_mask(Load(p, end), nl) & Valid(p, end);
    if (m != 0) return p + _tzcnt_u64(m);
  }
  return end;
}

LT_AVX512 const char* FindInEq(const char* p, const char* end) {
  const __m512i ci = _mm512_set1_epi8('I');
  const __m512i cn = _mm512_set1_epi8('N');
  const __m512i ce = _mm512_set1_epi8('=');
  for (; end - p >= 3; p += kW) {
    uint64_t m = _mm512_cmpeq_epi8_mask(Load(p, end), ci) &
                 _mm512_cmpeq_epi8_mask(Load(p + 1, end), cn) &
                 _mm512_cmpeq_epi8_mask(Load(p + 2, end), ce) & Valid(p + 2, end);
    if (m != 0) return p + _tzcnt_u64(m);
  }
  return end;
}

LT_AVX512 uint64_t SpaceMask(const char* p, const char* end) {
  return _mm512_cmpeq_epi8_mask(Load(p, end), _mm512_set1_epi8(' ')) | ~Valid(p, end);
}

LT_AVX512 const char* FindNeedle(const char* p, const char* end, const char* needle, size_t len) {
  const __m512i c0 = _mm512_set1_epi8(needle[0]);
  const __m512i c1 = _mm512_set1_epi8(needle[1]);
  const __m512i cl = _mm512_set1_epi8(needle[len - 1]);
  const ptrdiff_t span = static_cast<ptrdiff_t>(len);
  for (; end - p >= span; p += kW) {
    // A candidate at k needs its last byte p[k + len - 1] inside the range.
    uint64_t m = _mm512_cmpeq_epi8_mask(Load(p, end), c0) &
                 _mm512_cmpeq_epi8_mask(Load(p + 1, end), c1) &
                 _mm512_cmpeq_epi8_mask(Load(p + len - 1, end), cl) & Valid(p + len - 1, end);
    while (m != 0) {
      const char* c = p + _tzcnt_u64(m);
      if (NeedleEq(c, needle, len)) return c;
      m &= m - 1;
    }
  }
  return end;
}

// One pass for all needles: per 64-byte block, each needle still pending is
// matched on its first, second and last byte (three compares), and the
// candidates are verified. The loads at +1 and +len-1 are unaligned reads of
// the same cache lines, so a needle costs a few instructions per block.
LT_AVX512 void FindNeedles(const char* p, const char* end, const NeedleSet& set, const char** found) {
  const size_t n = set.count;
  uint64_t pending = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  __m512i c0[NeedleSet::kMax], c1[NeedleSet::kMax], cl[NeedleSet::kMax];
  size_t min_len = 64;
  for (size_t i = 0; i < n; ++i) {
    found[i] = end;
    c0[i] = _mm512_set1_epi8(set.text[i][0]);
    c1[i] = _mm512_set1_epi8(set.text[i][1]);
    cl[i] = _mm512_set1_epi8(set.text[i][set.len[i] - 1]);
    if (set.len[i] < min_len) min_len = set.len[i];
  }
  for (; (pending & set.stop) != 0 && end - p >= static_cast<ptrdiff_t>(min_len); p += kW) {
    const __m512i b0 = Load(p, end);
    const __m512i b1 = Load(p + 1, end);
    for (uint64_t todo = pending; todo != 0; todo &= todo - 1) {
      const size_t i = static_cast<size_t>(__builtin_ctzll(todo));
      const size_t len = set.len[i];
      uint64_t m = _mm512_cmpeq_epi8_mask(b0, c0[i]) & _mm512_cmpeq_epi8_mask(b1, c1[i]) &
                   _mm512_cmpeq_epi8_mask(Load(p + len - 1, end), cl[i]) & Valid(p + len - 1, end);
      while (m != 0) {
        const char* c = p + _tzcnt_u64(m);
        if (NeedleEq(c, set.text[i], len)) {
          found[i] = c;
          pending &= ~(uint64_t{1} << i);
          break;
        }
        m &= m - 1;
      }
    }
  }
}

}  // namespace

const Kernels& Avx512Kernels() {
  static const Kernels k{"avx512", FindNewline, FindInEq, SpaceMask, FindNeedle, FindNeedles};
  return k;
}

}  // namespace logtally::engine::simd
