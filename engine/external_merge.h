// The external path of a counting run, for when the groups outgrow the
// memory budget: spilling thread-local tables to per-partition files, then
// aggregating each partition into a sorted run, then merging the runs.
//
//   sink:     Spiller::Spill writes a thread's partitions as spill records
//             (varint key length, key, varint count) to SpillStore files.
//   combine:  ExternalMerge::Aggregate reads one partition's file whole into
//             a hash table, or first splits it by further hash bits
//             (repartition) when it does not fit its share of the budget,
//             and writes the partition's rows, sorted, as a run file.
//   finalize: ExternalMerge::Merge merges the runs with a loser tree, in
//             several passes when there are more runs than read buffers.
//
// A run record is (varint count << 1 | display-in-key bit, varint key
// length, key); the display text is rendered again when a run is read back.
// Temporary files themselves (creation, gathered writes, buffered reads) are
// spill.h's; rows and their order are rows.h's. TBB appears here only for
// the per-thread scratch of Aggregate, whose callers run it in parallel.
#ifndef LOGTALLY_ENGINE_EXTERNAL_MERGE_H_
#define LOGTALLY_ENGINE_EXTERNAL_MERGE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/count_table.h"
#include "engine/rows.h"
#include "engine/spill.h"
#include "engine/trace.h"

namespace logtally::engine {

// The final merge reads each sorted run through a buffer of its own, between
// these sizes; with more runs than half the budget holds at the smallest,
// groups of runs are merged into longer runs first. Small buffers keep what
// was read in the cache until the rows are copied out: 64 KiB for each of 64
// runs merged 10 M rows 15% faster than 256 KiB.
inline constexpr size_t kMinRunBuffer = size_t{16} << 10;
inline constexpr size_t kMaxRunBuffer = size_t{64} << 10;

// Shared state of one run's spilling: the threads' tables go to one store.
// The first error stops every thread (failed) and is kept (error).
struct Spiller {
  Spiller(std::string dir, uint64_t per_thread)
      : store(std::move(dir), kPartitions), per_thread_budget(per_thread) {}
  SpillStore store;
  uint64_t per_thread_budget;  // a thread spills when its tables hold more
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status error;

  void Fail(absl::Status s);
  // Writes every partition of `t` to its spill file and empties `t`; the
  // keys go from the arena straight to the file (GatherWriter).
  void Spill(PartitionedTable& t, GatherWriter& w);
};

struct ExternalMergeOptions {
  std::string dir;            // temporary files
  size_t ncol = 0;            // key columns
  size_t top = 0;             // -n; 0: all rows
  uint64_t share = 0;         // memory for one partition's aggregation
  uint64_t merge_memory = 0;  // the final merge's read buffers, all runs together
  const PhaseTrace* trace = nullptr;
};

struct ExternalState;

class ExternalMerge {
 public:
  explicit ExternalMerge(ExternalMergeOptions options);
  ~ExternalMerge();
  ExternalMerge(const ExternalMerge&) = delete;
  ExternalMerge& operator=(const ExternalMerge&) = delete;

  // Aggregates a spill file whose keys agree on the hash's first `bits_used`
  // bits into sorted runs (with -n, each run holds its partition's top N).
  // Safe to call from several threads at once, one file each; errors are
  // kept (error()) and make later calls return at once.
  void Aggregate(std::unique_ptr<TempFile> file, int bits_used);

  // Frees Aggregate's working memory, then merges every run into `sink`
  // (at most `top` rows), within merge_memory: each run reads through an
  // equal share of it, up to kMaxRunBuffer; with more runs than fit at
  // kMinRunBuffer each, groups of runs are first merged into longer runs
  // (GNU sort's multi-pass merge), as often as it takes. Does not call
  // sink.Begin.
  absl::Status Merge(RowSink& sink);

  absl::Status error() const;
  bool failed() const;
  uint64_t groups() const;         // rows aggregated, over all runs
  uint64_t spilled_bytes() const;  // bytes written to runs and repartitions
  size_t runs() const;             // sorted runs waiting to be merged

 private:
  std::unique_ptr<ExternalState> state_;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_EXTERNAL_MERGE_H_
