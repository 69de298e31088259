// `logtally rules`: counted groups turned into firewall rules, with a revert
// script beside them (SPEC section 3).
//
// This file owns the firewall text, and with it the one place where log bytes
// could reach a shell or a firewall: so every value is validated and
// re-printed from its parsed form (an address from its 4 or 16 bytes, a port
// or protocol from its number), never copied. A row with any value that does
// not validate is left out and reported, its values shown escaped. Comments
// are built from validated parts only (the count, and timestamps that match
// the TIME grammar). The output can therefore hold only the bytes this file
// writes itself.
//
// Targets:
// - iptables: a /bin/sh script feeding `iptables-restore --noflush` (IPv4)
//   and `ip6tables-restore --noflush` (IPv6) from quoted here-documents,
//   so that nothing in it is expanded by the shell, existing rules are kept
//   (without --noflush, *filter ... COMMIT would replace the whole table) and
//   each family is changed in one transaction. Rules are appended (`-A`) to
//   the chain, which must exist (INPUT by default); the revert script deletes
//   the same rules with `-D` (it fails as a whole, changing nothing, when one
//   of them is gone). The bare restore texts are available too.
// - nftables: an `nft -f` script that owns one table, `table inet logtally`,
//   with a base chain `input`, `forward` or `output` (from --chain, any case;
//   default input). Applying replaces that table in one transaction (so
//   applying twice does not double the rules); revert deletes it. Nothing
//   outside the table is touched. A drop in any base chain is final, so the
//   rules take effect whatever other tables accept; `policy accept` keeps the
//   table from dropping anything else.
//
// A rule must match no more than its group: every column of the key must be
// present in the row, except a missing DPT/SPT when PROTO is a protocol
// without ports (`icmp`), where "no port" is exact. Rows with a missing SRC,
// a missing PROTO, or a missing port of a TCP/UDP/... group are refused.
#ifndef LOGTALLY_ENGINE_RULES_H_
#define LOGTALLY_ENGINE_RULES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/rows.h"
#include "engine/timestamp.h"

namespace logtally::engine {

enum class RuleTarget { kIptables, kNftables };
enum class RuleAction { kDrop, kReject };

struct RuleOptions {
  RuleTarget target = RuleTarget::kIptables;
  RuleAction action = RuleAction::kDrop;
  // iptables: [A-Za-z0-9_-]{1,28}, not starting with '-' (empty: INPUT).
  // nftables: input, forward or output, any case (empty: input).
  std::string chain;
};

// One counted group. `values` has one entry per column (empty = missing);
// views need to live only during BuildRules.
struct RuleRow {
  std::vector<std::string_view> values;
  uint64_t count = 0;
  // TIME of the group's first and last line, as written in the log; shown in
  // the comment as FIRST..LAST when both are valid timestamps, else omitted.
  std::string_view first_time;
  std::string_view last_time;
};

struct RuleScripts {
  // The scripts to write: apply, and revert beside it.
  std::string apply;
  std::string revert;
  // iptables only: the iptables-restore / ip6tables-restore inputs inside
  // `apply` and `revert` (`*filter ... COMMIT`), empty when that family has
  // no rule.
  std::string restore_v4;
  std::string restore_v6;
  std::string revert_v4;
  std::string revert_v6;
  size_t rules = 0;  // rows turned into rules
  // One line per row left out: "row N (COL=value, ...): reason", 1-based in
  // input order, values escaped (printable ASCII kept, `\` doubled, other
  // bytes \xNN) and cut to a bounded length.
  std::vector<std::string> refused;
};

// Columns: a non-empty subset of SRC, DST, DPT, SPT, PROTO, each at most
// once, in any order. An error status for bad columns, a bad chain name, or a
// row whose number of values differs from the columns; bad values only refuse
// their row.
absl::StatusOr<RuleScripts> BuildRules(const std::vector<std::string>& columns,
                                       const std::vector<RuleRow>& rows, const RuleOptions& opt);

// The columns of a `rules` key ("SRC,DPT"): each must be one of SRC, DST,
// DPT, SPT and PROTO (BuildRules refuses a column given twice). A usage
// error names the first column that is not.
absl::StatusOr<std::vector<std::string>> ParseRuleKey(std::string_view key_spec);

// Receives the rows of a run counted by the rule columns plus TIME, and folds
// them into one group per value of the rule columns, with its total count and
// the first and last TIME seen (by the instant they name; BSD times read in
// `year`, or when 0 as if in a file written now). This gives each group's time span for
// the rule's comment without a second pass over the logs.
class RuleGroupSink : public RowSink {
 public:
  RuleGroupSink(size_t columns, int year);
  absl::Status Begin(const RunStats&) override { return absl::OkStatus(); }
  absl::Status Add(const Row& row) override;
  // The groups, most frequent first (equal counts in the order of their
  // encoded keys), at most `top` of them (0: all); views valid while this
  // sink lives.
  std::vector<RuleRow> Rows(size_t top) const;

 private:
  struct Group {
    std::vector<std::string> values;
    uint64_t count = 0;
    std::string first, last;
    int64_t first_t = 0, last_t = 0;
    bool have_time = false;
  };
  size_t ncol_;
  int year_;
  // Made at the first row, after the run: "now" is when the counting ended.
  std::optional<YearResolver> years_;
  std::map<std::string, Group> groups_;  // by the encoded key without TIME
  std::vector<std::string_view> vals_;   // scratch: ncol_ + 1 decoded values
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_RULES_H_
