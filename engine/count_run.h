// One counting run end to end: inputs -> chunks -> parallel parse and count
// into thread-local partitioned tables -> per-partition merge -> sorted rows.
//
// This is the only place (with the merge) that uses TBB. Each input gets its
// own parallel_pipeline (a serial stage cutting or decompressing chunks, a
// parallel stage counting them), and inputs run concurrently, so two archives
// decompress on two cores while one big mapped file still splits across all
// of them. Errors in one input are recorded and the others go on.
#ifndef LOGTALLY_ENGINE_COUNT_RUN_H_
#define LOGTALLY_ENGINE_COUNT_RUN_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/output.h"
#include "engine/query.h"
#include "io/chunker.h"

namespace logtally::engine {

struct RunOptions {
  size_t threads = 0;  // 0: all cores
  uint64_t memory = 0; // budget for counting, bytes; 0: a quarter of physical memory
  std::string temp_dir;  // for spill files; empty: $TMPDIR or /tmp
  int year = 0;          // --year for BSD timestamps; 0: from each file's mtime
  // Input lines: text, JSON objects, or decided per input by its first
  // non-blank byte ('{' means JSON lines).
  enum class InputMode { kAuto, kText, kJson } input = InputMode::kAuto;
  size_t chunk_size = io::kDefaultChunkSize;               // plain files' blocks
  size_t stream_chunk_size = io::kDefaultStreamChunkSize;  // decoded data, pipes
  bool map_files = false;  // map plain files instead of reading them (--mmap)
  size_t top = 0;      // 0: all groups
  // When set, raw bytes read so far (compressed bytes for archives) are added
  // here as the run goes, for a progress display.
  std::atomic<uint64_t>* progress = nullptr;
  absl::Status Validate() const;
};

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
// the final counts (for --percent), before the first row.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual absl::Status Begin(const RunStats& stats) = 0;
  virtual absl::Status Add(const Row& row) = 0;
};

struct RunResult {
  RunStats stats;
  std::vector<absl::Status> errors;  // one per input that failed, in input order
  // Set when the run itself failed (temporary files could not be written, or
  // the sink failed): no complete result was produced.
  absl::Status fatal;
};

// Sorts rows as output wants them (count descending, display text
// ascending, a missing value before a literal "-"), keeping only the first
// `top` when top > 0. `ncol` is the number of key columns. Every row's order
// prefix must be set (SetOrderPrefix).
void SortRows(RowVector& rows, size_t top, size_t ncol);

// Counts `inputs` and hands the sorted rows (cut to the top N) to `sink`.
// Within the memory budget everything stays in memory; beyond it, partitions
// are spilled to temporary files and aggregated one by one, and the sorted
// partition runs are merged, so no step needs all groups in memory at once.
RunResult RunCount(const Query& query, const std::vector<io::InputSpec>& inputs,
                   const RunOptions& options, RowSink& sink);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_COUNT_RUN_H_
