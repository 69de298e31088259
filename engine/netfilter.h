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
  // Returns the key's index, adding it when new.
  size_t Add(std::string_view name);
  size_t size() const { return names_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  // Index of `key` among the wanted keys, or -1.
  int Match(const char* key, size_t len) const;

 private:
  std::vector<std::string> names_;
  // Wanted keys by length (1..kMaxKeyLen), so most tokens are rejected by a
  // single length test.
  static constexpr size_t kMaxKeyLen = 32;
  std::vector<uint8_t> by_len_[kMaxKeyLen + 1];
};

// Fills out[i] with the value of wanted key i (first occurrence outside
// brackets); keys not present are left as they were (callers clear them).
void ExtractFields(const char* line, size_t n, size_t in_pos, const WantedKeys& wanted,
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
