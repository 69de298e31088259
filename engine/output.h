// Result writers: text (like `uniq -c`), TSV, CSV, JSON and NDJSON.
//
// Writers never see raw log bytes unescaped: every value goes through
// AppendDisplay (display.h). The rows arrive sorted (rows.h); this file only
// formats and writes them, and knows nothing of how they were counted.
#ifndef LOGTALLY_ENGINE_OUTPUT_H_
#define LOGTALLY_ENGINE_OUTPUT_H_

#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/rows.h"
#include "io/big_alloc.h"
#include "io/atomic_file.h"

namespace logtally::engine {

enum class OutputFormat { kText, kTsv, kCsv, kJson, kNdjson };

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);

// Formatted output: huge-page memory that the count tables gave back.
using OutBuffer = std::basic_string<char, std::char_traits<char>, io::UninitBigAllocator<char>>;

struct WriteOptions {
  OutputFormat format = OutputFormat::kText;
  bool percent = false;
  uint64_t counted = 0;  // denominator for --percent
  std::vector<std::string> columns;
};

// Writes 1 MiB buffers to an output on a thread of its own, one buffer in
// flight: formatting the next rows overlaps the write(2) of the last ones (a
// copy into the page cache, as costly as the formatting for a big result).
// The thread starts with the first buffer, so a small result never has one.
class BackgroundWriter {
 public:
  explicit BackgroundWriter(io::OutputFile& out) : out_(out) {}
  ~BackgroundWriter();
  // Hands `buf` over and gives back an empty buffer in its place; reports
  // an earlier write's error, if any.
  absl::Status Submit(OutBuffer& buf);
  // Waits for the last write; its error or an earlier one.
  absl::Status Drain();

 private:
  void Loop();
  io::OutputFile& out_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  OutBuffer pending_;
  bool has_pending_ = false;
  bool stop_ = false;
  absl::Status error_;
};

// Streams rows, in order, to `out` in the chosen format.
class RowWriter {
 public:
  RowWriter(const WriteOptions& opt, io::OutputFile& out);
  absl::Status Add(const Row& r);
  // Writes what is buffered and the format's closing bytes.
  absl::Status Finish();

 private:
  absl::Status MaybeFlush();
  void Header();

  const WriteOptions& opt_;
  io::OutputFile& out_;
  std::vector<std::string_view> raw_;
  std::vector<std::string> vals_;
  std::vector<std::string> names_;  // escaped column names (JSON)
  OutBuffer buf_;
  size_t rows_ = 0;
  BackgroundWriter background_;
};

// Writes rows in order to `out`.
absl::Status WriteRows(const std::vector<Row>& rows, const WriteOptions& opt, io::OutputFile& out);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_OUTPUT_H_
