// One counting run end to end, in three phases (docs/design.md, "Engine
// layout"):
//
//   sink      every input through the pipeline into thread-local partitioned
//             count tables, spilling a thread's tables when they outgrow its
//             share of the memory budget (pipeline.h);
//   combine   one task per partition: merge the threads' tables in memory
//             (count_table.h), or aggregate the spilled partition into a
//             sorted run (external_merge.h);
//   finalize  build and sort the rows and hand them to the sink (rows.h), or
//             merge the sorted runs into it.
//
// This file only sequences the phases and decides in-memory or external; it
// does not parse, count, spill or format anything itself.
#ifndef LOGTALLY_ENGINE_COUNT_RUN_H_
#define LOGTALLY_ENGINE_COUNT_RUN_H_

#include <vector>

#include "absl/status/status.h"
#include "engine/pipeline.h"
#include "engine/query.h"
#include "engine/rows.h"
#include "engine/run_options.h"
#include "io/input.h"

namespace logtally::engine {

struct RunResult {
  RunStats stats;
  std::vector<absl::Status> errors;  // one per input that failed, in input order
  std::vector<InputReport> inputs;   // per input, in input order: how far it was read
  // Set when the run itself failed (temporary files could not be written, or
  // the sink failed): no complete result was produced.
  absl::Status fatal;
};

// Counts `inputs` and hands the sorted rows (cut to the top N) to `sink`.
// Within the memory budget everything stays in memory; beyond it, partitions
// are spilled to temporary files and aggregated one by one, and the sorted
// partition runs are merged, so no step needs all groups in memory at once.
RunResult RunCount(const Query& query, const std::vector<io::InputSpec>& inputs,
                   const RunOptions& options, RowSink& sink);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_COUNT_RUN_H_
