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
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/output.h"
#include "engine/query.h"
#include "io/chunker.h"

namespace logtally::engine {

struct RunOptions {
  size_t threads = 0;  // 0: all cores
  size_t chunk_size = io::kDefaultChunkSize;
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
  uint64_t bytes = 0;      // decoded bytes
  uint64_t raw_bytes = 0;  // bytes read from files (compressed size for archives)
  uint64_t groups = 0;
  uint64_t inputs = 0;
  double seconds = 0;
};

struct RunResult {
  std::vector<Row> rows;  // sorted, cut to the top N
  RunStats stats;
  std::vector<absl::Status> errors;  // one per input that failed, in input order
  // Owns the bytes that rows point into.
  std::shared_ptr<void> storage;
};

RunResult RunCount(const Query& query, const std::vector<io::InputSpec>& inputs,
                   const RunOptions& options);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_COUNT_RUN_H_
