#include "engine/netfilter.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace logtally::engine {
namespace {

inline bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

size_t FindRecordStart(const char* line, size_t n, const simd::Kernels& k) {
  const char* end = line + n;
  const char* p = line;
  // The glue rule looks at the run of non-space bytes after `IN=`. Every
  // candidate inside one run shares the run's end, so the answer is computed
  // once per run: a line of megabytes without spaces stays linear.
  size_t run_end = 0;
  bool run_has_out = false;
  for (;;) {
    const char* c = k.find_in_eq(p, end);
    if (c >= end) return kNoRecord;
    size_t i = static_cast<size_t>(c - line);
    if (i == 0 || !IsWordByte(static_cast<unsigned char>(line[i - 1]))) return i;
    // Glued prefix (`DROPIN=eth0 OUT=`): an interface name, then " OUT=".
    if (i + 3 > run_end) {
      size_t j = i + 3;
      while (j < n && line[j] != ' ') ++j;
      run_end = j;
      run_has_out = n - j >= 5 && std::memcmp(line + j, " OUT=", 5) == 0;
    }
    if (run_has_out) return i;
    p = c + 1;
  }
}

size_t WantedKeys::Add(std::string_view name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  names_.emplace_back(name);
  std::string needle(1, ' ');
  needle.append(name);
  needle.push_back('=');
  needles_.push_back(std::move(needle));
  size_t idx = names_.size() - 1;
  uint64_t w = 0;
  std::memcpy(&w, name.data(), std::min<size_t>(name.size(), 8));
  // Keys longer than 8 bytes never match on the fast path (its len <= 8).
  packed_[idx] = w;
  len_[idx] = name.size();
  count_ = names_.size();
  BuildNeedleSet();
  return idx;
}

void WantedKeys::BuildNeedleSet() {
  set_ = simd::NeedleSet();
  for (size_t i = 0; i < needles_.size(); ++i) {
    if (needles_[i] == " IN=") {
      set_index_[i] = -1;
      continue;
    }
    set_index_[i] = static_cast<int>(set_.count);
    set_.text[set_.count] = needles_[i].data();
    set_.len[set_.count] = needles_[i].size();
    set_.stop |= uint64_t{1} << set_.count;
    ++set_.count;
  }
  static const char kBracket[] = " [";
  set_.text[set_.count] = kBracket;
  set_.len[set_.count] = 2;
  ++set_.count;
}

int WantedKeys::MatchSlow(const char* key, size_t len) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i].size() == len && std::memcmp(names_[i].data(), key, len) == 0) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

namespace {

// The value that starts at `v`: up to the next space or the end of the line.
inline std::string_view ValueAt(const char* v, const char* end) {
  const char* e = v;
#if defined(__SSE2__)
  // Values are short (an address, a port): 16 bytes at a time while they
  // lie inside the line. SSE2 is part of x86-64, so no dispatch is needed.
  const __m128i sp = _mm_set1_epi8(' ');
  while (end - e >= 16) {
    unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(e)), sp)));
    if (m != 0) return std::string_view(v, static_cast<size_t>(e - v) + static_cast<size_t>(__builtin_ctz(m)));
    e += 16;
  }
#endif
  while (e < end && *e != ' ') ++e;
  return std::string_view(v, static_cast<size_t>(e - v));
}

}  // namespace

void ExtractFields(const char* line, size_t n, size_t in_pos, const WantedKeys& wanted,
                   std::string_view* out, const simd::Kernels& k) {
  const char* end = line + n;
  const char* body = line + in_pos;
  const char* last_found = body;
  uint64_t unresolved = 0;  // keys with no " KEY=" anywhere, or past a bracket
  const char* found_at[WantedKeys::kMaxWantedKeys];
  // One pass for every key and the bracket.
  const simd::NeedleSet& set = wanted.needle_set();
  const char* f[simd::NeedleSet::kMax];
  k.find_needles(body, end, set, f);
  for (size_t i = 0; i < wanted.size(); ++i) {
    int j = wanted.set_index(i);
    if (j < 0) {  // IN: the first token, which no space precedes
      out[i] = ValueAt(body + 3, end);
      found_at[i] = body;
      continue;
    }
    if (f[j] >= end) {
      found_at[i] = nullptr;
      unresolved |= uint64_t{1} << i;
      continue;
    }
    found_at[i] = f[j];
    if (f[j] > last_found) last_found = f[j];
  }
  // The first " [": exact when it starts before the last key found, which is
  // all the test below needs.
  const char* b = f[set.count - 1];
  // Is there a bracket before the last key found (or anywhere, when some key
  // was not found: it may hide behind a bracket as "]KEY=")?
  const char* bracket_end = unresolved != 0 ? end : std::min(end, last_found + 2);
  if (b >= bracket_end) {
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (found_at[i] != nullptr && found_at[i] != body) {
        out[i] = ValueAt(found_at[i] + wanted.needle(i).size(), end);
      }
    }
    return;
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (found_at[i] == nullptr) continue;
    if (found_at[i] < b) {
      if (found_at[i] != body) out[i] = ValueAt(found_at[i] + wanted.needle(i).size(), end);
    } else {
      unresolved |= uint64_t{1} << i;
    }
  }
  if (unresolved != 0) {
    WalkFields(line, n, static_cast<size_t>(b + 1 - line), wanted, unresolved, out, k);
  }
}

void WalkFields(const char* line, size_t n, size_t from, const WantedKeys& wanted, uint64_t want,
                std::string_view* out, const simd::Kernels& k) {
  const char* end = line + n;
  uint64_t remaining = want;
  if (remaining == 0) return;
  size_t pos = from;
  size_t base = pos;
  uint64_t sp = k.space_mask(line + base, end);
  while (pos < n) {
    // Skip the spaces before the next token. pos - base < 64 holds here.
    uint64_t nonsp = ~sp & (~uint64_t{0} << (pos - base));
    while (nonsp == 0) {
      base += 64;
      if (base >= n) return;
      sp = k.space_mask(line + base, end);
      nonsp = ~sp;
    }
    size_t ts = base + static_cast<size_t>(__builtin_ctzll(nonsp));
    if (ts >= n) return;
    if (line[ts] == '[') {
      // A bracketed part (an ICMP error's inner packet): skip to the match.
      size_t depth = 0;
      size_t j = ts;
      for (; j < n; ++j) {
        if (line[j] == '[') {
          ++depth;
        } else if (line[j] == ']' && --depth == 0) {
          break;
        }
      }
      if (j >= n) return;  // unclosed: the rest of the line is inside
      pos = j + 1;
      base = pos;
      if (pos >= n) return;
      sp = k.space_mask(line + base, end);
      continue;
    }
    uint64_t after = sp & (~uint64_t{0} << (ts - base));
    while (after == 0) {
      base += 64;
      sp = k.space_mask(line + base, end);
      after = sp;
    }
    size_t te = base + static_cast<size_t>(__builtin_ctzll(after));
    if (te > n) te = n;
    const char* tok = line + ts;
    size_t tl = te - ts;
    size_t eq = 0;
    while (eq < tl && tok[eq] != '=') ++eq;
    if (eq > 0 && eq < tl) {
      int i = wanted.Match(tok, eq, end);
      if (i >= 0 && (remaining >> i & 1) != 0) {
        out[i] = std::string_view(tok + eq + 1, tl - eq - 1);
        remaining &= ~(uint64_t{1} << i);
        if (remaining == 0) return;
      }
    }
    pos = te;
  }
}

namespace {

constexpr const char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

bool IsMonth(const char* p) {
  for (int m = 0; m < 12; ++m) {
    if (std::memcmp(p, kMonths + 3 * m, 3) == 0) return true;
  }
  return false;
}

// "HH:MM:SS" at s[i..]: returns true when present.
bool MatchClock(std::string_view s, size_t i) {
  return s.size() >= i + 8 && IsDigit(s[i]) && IsDigit(s[i + 1]) && s[i + 2] == ':' &&
         IsDigit(s[i + 3]) && IsDigit(s[i + 4]) && s[i + 5] == ':' && IsDigit(s[i + 6]) &&
         IsDigit(s[i + 7]);
}

size_t MatchBsd(std::string_view s) {
  // Mmm, 1-2 spaces, 1-2 digit day, space, HH:MM:SS.
  if (s.size() < 14 || !IsMonth(s.data()) || s[3] != ' ') return 0;
  size_t i = 4;
  if (s[i] == ' ') ++i;
  if (i >= s.size() || !IsDigit(s[i])) return 0;
  ++i;
  if (i < s.size() && IsDigit(s[i])) ++i;
  if (i >= s.size() || s[i] != ' ') return 0;
  ++i;
  return MatchClock(s, i) ? i + 8 : 0;
}

size_t MatchIso(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|-HH:MM]
  if (s.size() < 19) return 0;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[i])) return 0;
  }
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || !MatchClock(s, 11)) return 0;
  size_t i = 19;
  if (i < s.size() && s[i] == '.' && i + 1 < s.size() && IsDigit(s[i + 1])) {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i + 6 <= s.size() && (s[i] == '+' || s[i] == '-') && IsDigit(s[i + 1]) &&
             IsDigit(s[i + 2]) && s[i + 3] == ':' && IsDigit(s[i + 4]) && IsDigit(s[i + 5])) {
    i += 6;
  }
  return i;
}

}  // namespace

size_t MatchTimestamp(std::string_view s) {
  size_t n = MatchBsd(s);
  return n != 0 ? n : MatchIso(s);
}

Header ParseHeader(const char* line, size_t in_pos) {
  Header h;
  std::string_view s(line, in_pos);
  size_t p = 0;
  auto skip_spaces = [&] {
    while (p < s.size() && s[p] == ' ') ++p;
  };
  // A word [p, end) that a space follows before IN=; returns its end or 0.
  auto word_end = [&]() -> size_t {
    size_t e = p;
    while (e < s.size() && s[e] != ' ') ++e;
    return e < s.size() && e > p ? e : 0;
  };

  if (!s.empty() && s[0] == '<') {
    size_t j = 1;
    while (j < s.size() && j <= 3 && IsDigit(s[j])) ++j;
    if (j > 1 && j < s.size() && s[j] == '>') p = j + 1;
  }
  size_t tl = MatchTimestamp(s.substr(p));
  if (tl > 0 && p + tl < s.size() && s[p + tl] == ' ') {
    h.time = s.substr(p, tl);
    p += tl;
    skip_spaces();
    size_t e = word_end();
    if (e != 0 && s[e - 1] != ':') {
      h.host = s.substr(p, e - p);
      p = e;
      skip_spaces();
    }
  }
  skip_spaces();
  if (size_t e = word_end(); e != 0 && s.substr(p, e - p) == "kernel:") {
    p = e;
    skip_spaces();
  }
  if (p < s.size() && s[p] == '[') {
    size_t j = p + 1;
    while (j < s.size() && s[j] == ' ') ++j;
    size_t d0 = j;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j > d0 && j < s.size() && s[j] == '.') {
      size_t f0 = ++j;
      while (j < s.size() && IsDigit(s[j])) ++j;
      if (j > f0 && j < s.size() && s[j] == ']' && j + 1 < s.size() && s[j + 1] == ' ') {
        p = j + 1;
        skip_spaces();
      }
    }
  }
  skip_spaces();
  size_t e = s.size();
  while (e > p && s[e - 1] == ' ') --e;
  h.prefix = s.substr(p, e - p);
  return h;
}

size_t SplitWords(const char* line, size_t n, std::string_view* out, size_t max_words) {
  size_t found = 0;
  size_t i = 0;
  while (found < max_words) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= n) break;
    size_t s = i;
    while (i < n && line[i] != ' ' && line[i] != '\t') ++i;
    out[found++] = std::string_view(line + s, i - s);
  }
  return found;
}

}  // namespace logtally::engine
