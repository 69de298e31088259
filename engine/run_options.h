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

#include "absl/status/statusor.h"
#include "io/chunker.h"

namespace logtally::engine {

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
};

// Parses "256M", "1G", "512K", "1000000" (bytes); binary units.
absl::StatusOr<uint64_t> ParseSize(std::string_view s);
// A quarter of physical memory: the default budget.
uint64_t DefaultMemoryBudget();
// $TMPDIR, else /tmp.
std::string DefaultTempDir();

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_RUN_OPTIONS_H_
