// Parallel generation with ordered output: worker threads fill numbered
// blocks, the calling thread writes them in block order with large write(2)
// calls and stops at the requested number of lines or bytes.
#ifndef LOGTALLY_DATASETS_GEN_PIPELINE_H_
#define LOGTALLY_DATASETS_GEN_PIPELINE_H_

#include <cstdint>
#include <string>

#include "datasets/gen/formats.h"
#include "datasets/gen/timeline.h"
#include "datasets/gen/world.h"

namespace logtally::datasets {

struct RunConfig {
  const World* world = nullptr;
  const Timeline* timeline = nullptr;
  uint64_t seed = 0;
  OutputFormat format = OutputFormat::kText;
  unsigned threads = 1;
  int fd = 1;
  // Stop after exactly `limit` lines, or after the last whole line that
  // fits in `limit` bytes.
  bool limit_is_bytes = false;
  uint64_t limit = 0;
};

struct RunStats {
  uint64_t lines = 0;
  uint64_t bytes = 0;
};

// Returns false and sets `error` when the output cannot be written.
bool RunPipeline(const RunConfig& config, RunStats& stats, std::string& error);

}  // namespace logtally::datasets

#endif  // LOGTALLY_DATASETS_GEN_PIPELINE_H_
