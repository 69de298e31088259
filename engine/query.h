// What a count run asks: the key's fields and the conditions (-k, -w), parsed
// and checked once, then evaluated per line by LineEvaluator.
//
// A query names fields; each distinct field gets a slot. Netfilter keys are
// collected into WantedKeys so that one token walk fills every slot; header
// fields and words are parsed only when some slot needs them.
#ifndef LOGTALLY_ENGINE_QUERY_H_
#define LOGTALLY_ENGINE_QUERY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ip.h"
#include "engine/netfilter.h"

namespace logtally::engine {

enum class FieldKind { kNetfilter, kTime, kHost, kPrefix, kLine, kWord };

struct Field {
  std::string name;   // as the user wrote it; the column header
  FieldKind kind = FieldKind::kNetfilter;
  size_t index = 0;   // kNetfilter: index in WantedKeys; kWord: N - 1
  bool NeedsRecord() const { return kind != FieldKind::kLine && kind != FieldKind::kWord; }
};

struct Alternative {
  enum class Kind { kExact, kRange, kCidr } kind = Kind::kExact;
  std::string text;
  uint64_t lo = 0, hi = 0;
  Cidr cidr;
};

struct Condition {
  std::string text;   // as written, for messages
  size_t slot = 0;
  bool negate = false;
  std::vector<Alternative> alternatives;
};

class Query {
 public:
  // Parses "-k F1,F2" and the "-w" conditions. Errors are usage errors.
  static absl::StatusOr<Query> Parse(std::string_view key_spec,
                                     const std::vector<std::string>& conditions);

  const std::vector<Field>& slots() const { return slots_; }
  const std::vector<size_t>& key() const { return key_; }  // slot per key column
  const std::vector<Condition>& conditions() const { return conditions_; }
  const WantedKeys& wanted() const { return wanted_; }
  bool key_needs_record() const { return key_needs_record_; }
  bool needs_header() const { return needs_header_; }
  size_t max_word() const { return max_word_; }
  std::vector<std::string> column_names() const;

 private:
  absl::StatusOr<size_t> SlotFor(std::string_view name);

  std::vector<Field> slots_;
  std::vector<size_t> key_;
  std::vector<Condition> conditions_;
  WantedKeys wanted_;
  bool key_needs_record_ = false;
  bool needs_header_ = false;
  size_t max_word_ = 0;
};

// Per-line evaluation; one per thread (it owns scratch space).
class LineEvaluator {
 public:
  enum class Outcome { kCounted, kFiltered, kOther };

  LineEvaluator(const Query& q, const simd::Kernels& k);

  // Evaluates one line (no '\n', no trailing '\r'). On kCounted the encoded
  // key is in key(); `is_record` tells whether the line held a record.
  Outcome Evaluate(const char* line, size_t n, bool* is_record);

  std::string_view key() const { return std::string_view(key_.data(), key_len_); }

 private:
  const Query& q_;
  const simd::Kernels& k_;
  std::vector<std::string_view> values_;   // per slot
  std::vector<std::string_view> nf_;       // per wanted netfilter key
  std::vector<std::string_view> words_;
  std::string key_;  // scratch, sized up as needed; the key is its first key_len_ bytes
  size_t key_len_ = 0;
};

// The encoded key: per column, a varint of (length + 1), 0 for a missing or
// empty value, then the bytes. Distinct groups have distinct encodings.
void AppendKeyValue(std::string& key, std::string_view value);
// Decodes column values from an encoded key; `missing[i]` marks empty ones.
void DecodeKey(std::string_view key, size_t columns, std::string_view* values);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_QUERY_H_
