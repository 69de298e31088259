// Rows: a finished group as output sees it (count, display text, encoded
// key), the order rows are printed in, and the sink that receives them.
//
// The order is count descending, then the display text ascending, then the
// key column by column (a missing value before a literal "-"), so output is
// the same whatever the thread count or the path (in memory or spilled).
// Building rows from a hash table renders each key's display text once, into
// an arena; the in-memory finalize and the external merge both use it. This
// file does not count (count_table.h), spill (external_merge.h) or format
// (output.h).
#ifndef LOGTALLY_ENGINE_ROWS_H_
#define LOGTALLY_ENGINE_ROWS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/count_table.h"
#include "io/big_alloc.h"

namespace logtally::engine {

struct Row {
  uint64_t count = 0;
  std::string_view display;  // the key's values as displayed, joined by ' '
  std::string_view key;      // encoded key (key.h)
  // The display's first 16 bytes as two big-endian numbers (zero-padded),
  // so most comparisons of a sort never touch the display text itself (a
  // cache miss each, in a table of millions of rows). Set by SetOrderPrefix,
  // which whoever builds a row to be sorted must call.
  uint64_t order_hi = 0, order_lo = 0;
};

// Rows to be sorted: huge-page memory, and resize() leaves new rows for the
// caller to write (big_alloc.h).
using RowVector = std::vector<Row, io::UninitBigAllocator<Row>>;

inline void SetOrderPrefix(Row& r) {
  char b[16] = {};
  std::memcpy(b, r.display.data(), r.display.size() < 16 ? r.display.size() : 16);
  uint64_t hi, lo;
  std::memcpy(&hi, b, 8);
  std::memcpy(&lo, b + 8, 8);
  r.order_hi = __builtin_bswap64(hi);
  r.order_lo = __builtin_bswap64(lo);
}

// What a counting run saw, for the summary line and --percent.
struct RunStats {
  uint64_t lines = 0;
  uint64_t records = 0;   // lines holding a netfilter record
  uint64_t other = 0;     // lines without a record
  uint64_t counted = 0;   // lines counted into a group
  uint64_t filtered = 0;  // lines failing a condition
  uint64_t uncounted_other = 0;  // other lines left out because the key needs a record
  uint64_t malformed = 0;  // JSON input lines that were not a valid object (other lines)
  uint64_t bytes = 0;      // decoded bytes
  uint64_t raw_bytes = 0;  // bytes read from files (compressed size for archives)
  uint64_t groups = 0;
  uint64_t inputs = 0;
  uint64_t spills = 0;        // times a thread's tables were written out
  uint64_t spilled_bytes = 0; // bytes written to temporary files, all passes
  double seconds = 0;
};

// Receives the sorted rows at the end of a run. Begin is called once, with
// the final counts (for --percent), before the first row. A row's views are
// valid only during Add.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual absl::Status Begin(const RunStats& stats) = 0;
  virtual absl::Status Add(const Row& row) = 0;
};

// Compares two encoded keys whose displays are equal: column by column, a
// missing value sorts before a present one, present ones by their bytes.
bool KeyTieLess(std::string_view a, std::string_view b, size_t ncol);

// The row order: count descending, display text ascending (its first 16
// bytes compared as two numbers: see Row::order_hi), then the encoded key.
// Inline: the sort and the external merge call it once per comparison.
struct RowLess {
  size_t ncol;
  bool operator()(const Row& a, const Row& b) const {
    if (a.count != b.count) return a.count > b.count;
    if (a.order_hi != b.order_hi) return a.order_hi < b.order_hi;
    if (a.order_lo != b.order_lo) return a.order_lo < b.order_lo;
    int c = a.display.compare(b.display);
    if (c != 0) return c < 0;
    return KeyTieLess(a.key, b.key, ncol);
  }
};

// Sorts rows as output wants them (RowLess), keeping only the first `top`
// when top > 0. `ncol` is the number of key columns. Every row's order
// prefix must be set (SetOrderPrefix). Runs in parallel (TBB) in the
// caller's task arena.
void SortRows(RowVector& rows, size_t top, size_t ncol);

// The display text of a key: values joined by ' ', '-' for a missing one.
// `vals` has room for ncol values (scratch).
void RenderDisplay(std::string_view key, size_t ncol, std::vector<std::string_view>& vals,
                   std::string& line);

// The display of a one-column key whose value needs no escaping is the value
// itself: the row then points at the key's bytes, and nothing is rendered or
// copied (for `-k line`, that is the whole input once more).
bool DisplayInKey(std::string_view key, size_t ncol, std::string_view* display);

// Rows of one table with their display text (kept in `arena`), written to
// out[0, t.size()), order prefixes set. Rows point into the table's keys and
// the arena: valid while both live.
void TableRowsTo(const HashTable& t, size_t ncol, Arena& arena, Row* out);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_ROWS_H_
