#include "engine/display.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstdint>

#include "absl/strings/str_format.h"

namespace logtally::engine {
namespace {

// Length of the valid UTF-8 multi-byte sequence at s[i], or 0.
size_t Utf8SeqLen(std::string_view s, size_t i) {
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xc0) == 0x80;
  };
  uint8_t c = static_cast<uint8_t>(s[i]);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
    if (c == 0xe0 && c1 < 0xa0) return 0;  // overlong
    if (c == 0xed && c1 > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
    if (c == 0xf0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xf4 && c1 > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Length of the prefix of [p, p + n) that displays as itself: printable
// ASCII other than the backslash. Most values are all of it, so they are
// copied in one go. SSE2 is part of x86-64, so no dispatch is needed.
size_t PlainPrefix(const char* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8(0x1f), hi = _mm_set1_epi8(0x7f), bs = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares: bytes from 0x80 up are negative, so they fail "> 0x1f".
    __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, bs),
                                  _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi)));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(ok));
    if (m != 0xffff) return i + static_cast<size_t>(__builtin_ctz(~m));
  }
#endif
  for (; i < n; ++i) {
    uint8_t c = static_cast<uint8_t>(p[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') break;
  }
  return i;
}

}  // namespace

bool DisplaysAsItself(std::string_view v) { return PlainPrefix(v.data(), v.size()) == v.size(); }

void AppendDisplay(std::string& out, std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    size_t k = PlainPrefix(v.data() + i, v.size() - i);
    out.append(v.data() + i, k);
    i += k;
    if (i >= v.size()) break;
    uint8_t c = static_cast<uint8_t>(v[i]);
    if (c == '\\') {
      out.append("\\\\");
      ++i;
      continue;
    }
    size_t n = c >= 0x80 ? Utf8SeqLen(v, i) : 0;
    if (n > 0) {
      out.append(v.substr(i, n));
      i += n;
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
      ++i;
    }
  }
}

}  // namespace logtally::engine
