// The sink phase of a counting run: every input, through one TBB
// parallel_pipeline each, into thread-local partitioned count tables.
//
// A serial in-order stage hands out chunks (block numbers of a plain file,
// or decoded chunks of an archive or a pipe); a parallel stage scans,
// parses, filters and counts them (ProcessChunk) into the calling thread's
// ThreadCounter. Inputs run concurrently, so two archives decompress on two
// cores while one big file still splits across all of them. A thread whose
// tables outgrow its share of the budget spills them (external_merge.h).
// Errors in one input are recorded and the others go on.
//
// This file (with Workers, the run's thread pool) is where TBB's pipeline
// lives; it does not merge tables, sort or write rows (count_run.h).
#ifndef LOGTALLY_ENGINE_PIPELINE_H_
#define LOGTALLY_ENGINE_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/count_table.h"
#include "engine/external_merge.h"
#include "engine/query.h"
#include "engine/rows.h"
#include "engine/run_options.h"
#include "engine/spill.h"
#include "io/chunker.h"
#include "io/input.h"
#include "io/plain_blocks.h"

namespace logtally::engine {

// The worker threads of one run: a TBB task arena of `threads` threads
// (0: all cores), with TBB's default cap lifted so that -j N above the core
// count runs N threads instead of warning and running fewer.
class Workers {
 public:
  explicit Workers(size_t threads);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  int threads() const { return threads_; }
  // Runs fn in the arena (its parallel algorithms use these threads).
  void Run(const std::function<void()>& fn);
  // Runs fn(0) .. fn(n - 1) in parallel in the arena, one task each.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

 private:
  struct Impl;
  int threads_;
  std::unique_ptr<Impl> impl_;
};

// One thread's counting state, reused for every chunk the thread counts.
struct ThreadCounter {
  ThreadCounter(const Query& q, const simd::Kernels& k) : eval(q, k) {}
  PartitionedTable table;
  KeyBatch batch;
  LineEvaluator eval;
  RunStats stats;
  uint64_t batches = 0;
  io::BlockBuffer read_buf;  // PlainBlocks reads, reused
  GatherWriter spill_writer;
};

// Bytes at each end of an input that InputReport keeps for fingerprints.
inline constexpr size_t kEdgeBytes = 4096;

// How far one input was read, and its edges (with RunOptions::fingerprints).
struct InputReport {
  bool opened = false;
  io::Format format = io::Format::kPlain;
  uint64_t raw_size = 0;  // file bytes at open (0 for a pipe)
  uint64_t raw_read = 0;  // file bytes read (compressed bytes of an archive)
  int64_t mtime = 0;
  uint64_t start = 0;     // decoded bytes skipped (InputRange::skip)
  uint64_t decoded = 0;   // decoded bytes counted after `start`
  uint64_t held = 0;      // bytes of an unterminated last line left uncounted
  std::string head;       // the first kEdgeBytes decoded bytes (from offset 0)
  std::string tail;       // the last kEdgeBytes before the end of what was counted
  absl::Status error;     // why it was not read to its end (set by RunCount)
};

struct SinkResult {
  // Every thread that counted, with its tables (partly spilled, perhaps).
  std::vector<std::unique_ptr<ThreadCounter>> counters;
  std::vector<absl::Status> errors;  // per input, in input order; ok if read whole
  uint64_t raw_bytes = 0;            // bytes read from the inputs
  std::vector<InputReport> inputs;   // per input, in input order
};

// Counts every line of `inputs` by `query` into thread-local tables, on
// `workers`; spills through `spiller` when a thread's tables outgrow
// spiller.per_thread_budget. Stops early once spiller.failed.
SinkResult CountInputs(const Query& query, const std::vector<io::InputSpec>& inputs,
                       const RunOptions& options, Workers& workers, Spiller& spiller);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_PIPELINE_H_
