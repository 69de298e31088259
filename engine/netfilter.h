// Netfilter LOG records inside a line: where the record starts, its fields,
// and the syslog header before it (SPEC section 2, docs/choices.md).
//
// Everything here works on one line given as a pointer and length (without
// its '\n' and trailing '\r') and returns views into that line, valid as long
// as the line's bytes are. Nothing allocates. The token walk is driven by the
// SIMD space masks of simd/kernels.h and stops as soon as every wanted field
// has been seen, since the first occurrence of a key is the field.
#ifndef LOGTALLY_ENGINE_NETFILTER_H_
#define LOGTALLY_ENGINE_NETFILTER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/simd/kernels.h"

namespace logtally::engine {

inline constexpr size_t kNoRecord = static_cast<size_t>(-1);

// Offset of the `IN=` that starts the record, or kNoRecord.
size_t FindRecordStart(const char* line, size_t n, const simd::Kernels& k);

// The netfilter keys a query needs, at most kMaxWantedKeys of them.
class WantedKeys {
 public:
  static constexpr size_t kMaxWantedKeys = 32;
  WantedKeys() = default;
  // The needle set points into needles_: a copy rebuilds it for its own.
  WantedKeys(const WantedKeys& o) { *this = o; }
  WantedKeys& operator=(const WantedKeys& o) {
    if (this != &o) {
      names_ = o.names_;
      needles_ = o.needles_;
      count_ = o.count_;
      std::copy(o.packed_, o.packed_ + kMaxWantedKeys, packed_);
      std::copy(o.len_, o.len_ + kMaxWantedKeys, len_);
      BuildNeedleSet();
    }
    return *this;
  }
  // Returns the key's index, adding it when new.
  size_t Add(std::string_view name);
  size_t size() const { return names_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  // " KEY=": how key i appears at the start of any token but the first.
  const std::string& needle(size_t i) const { return needles_[i]; }
  // The needles of every key but IN (the first token, found without one),
  // then " [", for one find_needles pass. set_index(i): key i's needle in
  // it, or -1 for IN.
  const simd::NeedleSet& needle_set() const { return set_; }
  int set_index(size_t i) const { return set_index_[i]; }
  // Index of `key` among the wanted keys, or -1. `limit` is the end of the
  // readable bytes after `key` (at least `len` bytes on).
  int Match(const char* key, size_t len, const char* limit) const {
    if (len <= 8 && limit - key >= 8) {
      // Fast path: one unaligned load, masked to the key's length, compared
      // with each wanted key packed the same way.
      uint64_t w;
      __builtin_memcpy(&w, key, 8);
      w &= kLenMask[len];
      for (size_t i = 0; i < count_; ++i) {
        if (packed_[i] == w && len_[i] == len) return static_cast<int>(i);
      }
      return -1;
    }
    return MatchSlow(key, len);
  }

 private:
  int MatchSlow(const char* key, size_t len) const;
  static constexpr uint64_t kLenMask[9] = {0,
                                           0xffull,
                                           0xffffull,
                                           0xffffffull,
                                           0xffffffffull,
                                           0xffffffffffull,
                                           0xffffffffffffull,
                                           0xffffffffffffffull,
                                           ~0ull};
  void BuildNeedleSet();
  std::vector<std::string> names_;
  std::vector<std::string> needles_;
  simd::NeedleSet set_;
  static_assert(simd::NeedleSet::kMax > kMaxWantedKeys, "every key and the bracket fit");
  int set_index_[kMaxWantedKeys] = {};
  size_t count_ = 0;
  uint64_t packed_[kMaxWantedKeys] = {};  // first 8 bytes (little endian); 0 for longer keys' slots
  size_t len_[kMaxWantedKeys] = {};
};

// Fills out[i] with the value of wanted key i (first occurrence outside
// brackets); keys not present are left as they were (callers clear them).
//
// Fast path: a token other than the first starts after a space, so the first
// " KEY=" in the body is the key's first token, unless a bracketed part
// (a token starting with '[', found as " [") comes before it. Keys found
// before the first bracket are final; the rest are looked up by the exact
// token walk (WalkFields) from that bracket on.
void ExtractFields(const char* line, size_t n, size_t in_pos, const WantedKeys& wanted,
                   std::string_view* out, const simd::Kernels& k);

// The exact token walk over [from, n): every token, brackets skipped and
// nested. Fills only the keys whose bit is set in `want`.
void WalkFields(const char* line, size_t n, size_t from, const WantedKeys& wanted, uint64_t want,
                std::string_view* out, const simd::Kernels& k);

struct Header {
  std::string_view time;
  std::string_view host;
  std::string_view prefix;
};

// Parses TIME, HOST and PREFIX from the text before `in_pos`.
Header ParseHeader(const char* line, size_t in_pos);

// Length of a timestamp at the start of `s` (BSD or RFC 3339), or 0.
size_t MatchTimestamp(std::string_view s);

// Splits `line` into words on runs of spaces and tabs; out[i] = word i+1,
// for i < max_words (missing words are left empty). Returns words found.
size_t SplitWords(const char* line, size_t n, std::string_view* out, size_t max_words);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_NETFILTER_H_
