// Writing an output file atomically: a temporary file beside the target is
// filled, flushed and renamed into place only on Commit(), so a reader never
// sees a half-written result. Without Commit() (an error, an exception) the
// temporary file is removed. A target that is a symbolic link is resolved
// first (the link stays, the file it names is replaced, keeping its
// permissions). Standard output, and a target that exists but is not a
// regular file (/dev/null, a FIFO, a terminal), are written directly: a
// device must never be replaced by a file.
#ifndef LOGTALLY_IO_ATOMIC_FILE_H_
#define LOGTALLY_IO_ATOMIC_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace logtally::io {

class OutputFile {
 public:
  // `path` empty or "-" means standard output.
  static absl::StatusOr<OutputFile> Open(const std::string& path);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();

  absl::Status Write(std::string_view bytes);
  // Flushes and, for a file, renames the temporary file into place.
  absl::Status Commit();

 private:
  OutputFile() = default;
  int fd_ = -1;
  std::string path_;
  std::string temp_path_;  // empty when written directly
  bool owns_fd_ = false;   // a device or FIFO opened by name
  bool committed_ = false;
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_ATOMIC_FILE_H_
