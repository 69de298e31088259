// What a count run asks: the key's fields and the conditions (-k, -w), parsed
// and checked once, then evaluated per line by LineEvaluator.
//
// A query names fields; each distinct field gets a slot. Netfilter keys are
// collected into WantedKeys so that one token walk fills every slot; header
// fields and words are parsed only when some slot needs them.
#ifndef LOGTALLY_ENGINE_QUERY_H_
#define LOGTALLY_ENGINE_QUERY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ip.h"
#include "engine/json_line.h"
#include "engine/netfilter.h"
#include "engine/services.h"
#include "engine/timestamp.h"

namespace logtally::engine {

enum class FieldKind {
  kNetfilter, kTime, kHost, kPrefix, kLine, kWord,
  // Derived fields (SPEC section 3), computed from netfilter fields:
  kService,     // service: the category of DPT/PROTO
  kPortName,    // DPT.name, SPT.name: the /etc/services name
  kDay,         // day: YYYY-MM-DD of TIME
  kHour,        // hour: YYYY-MM-DDTHH of TIME
  kAddrPrefix,  // SRC/24, DST/48, ...: the address's network
  kJsonPath,    // .a.b: a value of a JSON line (index: in json_paths())
};

struct Field {
  std::string name;   // as the user wrote it; the column header
  FieldKind kind = FieldKind::kNetfilter;
  size_t index = 0;   // kNetfilter, kPortName, kAddrPrefix: base key's index in
                      // WantedKeys (DPT for kService); kWord: N - 1
  size_t proto = 0;   // kService, kPortName: index of PROTO in WantedKeys
  int prefix_len = 0; // kAddrPrefix
  bool NeedsRecord() const {
    return kind != FieldKind::kLine && kind != FieldKind::kWord && kind != FieldKind::kJsonPath;
  }
};

// Settings that change what derived fields and the time window mean.
struct QueryOptions {
  const ServiceTable* services = nullptr;  // nullptr: the built-in table
  bool utc = false;                        // day/hour in UTC, not the log's offset
  bool has_since = false, has_until = false;
  TimeSpan since, until;                   // keep since.start <= t < until.end
  // A bound written with Z or an offset is an instant, compared with each
  // line's UTC instant; a bound without one is a wall-clock reading, compared
  // with the line's own clock (as day/hour show it), or with UTC under --utc.
  bool since_instant = false, until_instant = false;
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
                                     const std::vector<std::string>& conditions,
                                     const QueryOptions& options = {});

  const std::vector<Field>& slots() const { return slots_; }
  const std::vector<size_t>& key() const { return key_; }  // slot per key column
  const std::vector<Condition>& conditions() const { return conditions_; }
  const WantedKeys& wanted() const { return wanted_; }
  bool key_needs_record() const { return key_needs_record_; }
  bool needs_header() const { return needs_header_; }
  size_t max_word() const { return max_word_; }
  const QueryOptions& options() const { return options_; }
  const ServiceTable& services() const {
    return options_.services != nullptr ? *options_.services : ServiceTable::Builtin();
  }
  bool has_time_window() const { return options_.has_since || options_.has_until; }
  // TIME must be parsed into an instant (day, hour, or a time window).
  bool needs_time() const { return needs_time_; }
  const std::vector<std::string>& json_paths() const { return json_paths_; }
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
  bool needs_time_ = false;
  std::vector<std::string> json_paths_;
  QueryOptions options_;
};

// Per-line evaluation; one per thread (it owns scratch space).
class LineEvaluator {
 public:
  enum class Outcome { kCounted, kFiltered, kOther };

  LineEvaluator(const Query& q, const simd::Kernels& k);

  // The year rule for BSD timestamps of the input being read (day, hour and
  // the time window need it). Must outlive the evaluations.
  void SetYears(const YearResolver* years) { years_ = years; }
  // Lines of the input being read are JSON objects (journald, ulogd, NDJSON).
  void SetJson(bool json);
  // JSON lines that were not a valid object (counted as other lines).
  uint64_t malformed() const { return malformed_; }

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
  std::vector<std::string> derived_;       // per slot: text of a derived value
  const YearResolver* years_ = nullptr;
  Outcome EvaluateJson(const char* line, size_t n, bool* is_record);
  // Everything after the record's fields and header are known.
  Outcome Finish(const char* line, size_t n, bool record, const Header& h, bool* is_record);
  std::unique_ptr<JsonLine> json_;
  bool json_mode_ = false;
  uint64_t malformed_ = 0;
  std::string json_time_;                  // TIME of a JSON line, as text
  std::vector<std::string> ulogd_addr_;    // per wanted key: an IPv6 address in full
  std::vector<size_t> ulogd_ids_;          // per wanted key: JsonLine::UlogdFieldId
  size_t ulogd_prefix_id_ = 0, ulogd_time_id_ = 0;  // set when the query needs the header
  std::string key_;  // scratch, sized up as needed; the key is its first key_len_ bytes
  size_t key_len_ = 0;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_QUERY_H_
