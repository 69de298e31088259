// Adding up and comparing tallies (tally.h): `logtally merge` and
// `logtally diff`.
//
// Both stream partition by partition. The runs a partition has in every
// tally are merged by key (a loser tree; in several passes when there are
// more runs than the memory holds blocks for), equal keys summed, and the
// groups go on as spill records to the external merge (external_merge.h),
// which orders them as a count orders its groups: so a merge prints, byte
// for byte, what one count over all the inputs prints, in every format,
// within --memory. A merge may also narrow the saved query where the result
// stays exact (Narrowing). Checking that tallies count one query is the
// caller's (SameQuery, tally.h).
#ifndef LOGTALLY_ENGINE_TALLY_MERGE_H_
#define LOGTALLY_ENGINE_TALLY_MERGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/count_table.h"
#include "engine/query.h"
#include "engine/rows.h"
#include "engine/tally.h"

namespace logtally::engine {

// A narrower query than the tallies': fewer or coarser key columns, more
// conditions. Exact only because each new column is computed from one saved
// column's value and each condition tests a saved column's value.
struct Narrowing {
  struct Column {
    size_t from = 0;    // the saved key column it is computed from
    size_t prefix = 0;  // >0: the value's first `prefix` bytes (day from hour: 10)
  };
  std::vector<Column> columns;  // empty: the saved key as it is
  struct Cond {
    size_t column = 0;  // the saved key column it tests
    Condition condition;
  };
  std::vector<Cond> conditions;
  bool active() const { return !columns.empty() || !conditions.empty(); }
};

// Plans `-k key_spec` (empty: the saved key) and `-w where` against a
// tally's metadata; on success `narrowed` is the metadata a count of the
// narrower query would have (key, conditions, the parameters that still
// matter). An error says why the result would not be exact.
absl::StatusOr<Narrowing> PlanNarrowing(const TallyMeta& meta, std::string_view key_spec,
                                        const std::vector<std::string>& where, TallyMeta* narrowed);

struct MergeOptions {
  size_t threads = 0;      // 0: all cores
  uint64_t memory = 0;     // 0: DefaultMemoryBudget()
  std::string temp_dir;    // empty: DefaultTempDir()
  size_t top = 0;          // -n; 0: every group
  const Narrowing* narrowing = nullptr;
  PartitionSaver* save = nullptr;  // receives every partition's groups (merge --save)
};

struct MergeResult {
  RunStats stats;       // the tallies' totals added up (and narrowed)
  absl::Status fatal;   // a damaged tally, or temporary files that failed
};

// Adds up `tallies` and hands the groups, sorted as a count sorts them, to
// `sink` (Begin, then the rows).
MergeResult MergeTallies(const std::vector<const TallyFile*>& tallies, const MergeOptions& options,
                         RowSink& sink);

struct DiffResult {
  uint64_t added = 0, gone = 0, changed = 0, unchanged = 0;
  absl::Status fatal;
};

// The groups whose counts differ between `older` and `newer`, by absolute
// change descending, then as a count orders equal counts. Each row's key
// holds the tallies' columns and then two more: the old and the new count
// as decimal text (0 when absent); its count is the absolute change.
// RowWriter's diff mode (output.h) prints them.
DiffResult DiffTallies(const TallyFile& older, const TallyFile& newer, const MergeOptions& options,
                       RowSink& sink);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_TALLY_MERGE_H_
