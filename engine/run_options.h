// What a counting run may use: threads, memory, temporary space, and how its
// inputs are read. Parsed by the CLI, read by every phase of RunCount
// (count_run.h). This file owns the parsing of sizes ("256M") and the
// defaults that depend on the machine; it does not run anything.
#ifndef LOGTALLY_ENGINE_RUN_OPTIONS_H_
#define LOGTALLY_ENGINE_RUN_OPTIONS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "io/chunker.h"

namespace logtally::engine {

class PartitionSaver;  // count_table.h

// Which part of one input to count: all of it by default. A run that
// remembers how far it got (count --state) starts after what it counted
// before and leaves an unfinished last line for the next run.
struct InputRange {
  uint64_t skip = 0;         // decoded bytes before counting starts (a line start)
  bool whole_lines = false;  // leave an unterminated last line uncounted
};

struct RunOptions {
  size_t threads = 0;  // 0: all cores
  uint64_t memory = 0; // budget for counting, bytes; 0: DefaultMemoryBudget()
  std::string temp_dir;  // for spill files; empty: DefaultTempDir()
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
  // When set, every partition's groups are also handed here, whole (before
  // -n cuts the rows), as the combine phase finishes them: a tally.
  PartitionSaver* save = nullptr;
  // Per input (in input order), when set: the part of it to count.
  const std::vector<InputRange>* ranges = nullptr;
  // Keep each input's first and last decoded bytes (InputReport).
  bool fingerprints = false;
  // An input that cannot be read fails the whole run (RunResult::fatal)
  // before any row is handed on: a run that remembers how far it counted
  // (count --state) counts all its inputs or none.
  bool all_or_nothing = false;
};

// Parses "256M", "1G", "512K", "1000000" (bytes); binary units.
absl::StatusOr<uint64_t> ParseSize(std::string_view s);
// A quarter of physical memory: the default budget.
uint64_t DefaultMemoryBudget();
// $TMPDIR, else /tmp.
std::string DefaultTempDir();

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_RUN_OPTIONS_H_
