// Writing an output file atomically: the result is written to an unnamed
// file in the target's directory (O_TMPFILE) and linked into place only on
// Commit(), so a reader never sees a half-written result and a run that is
// killed, by any signal, leaves nothing behind. Where the file system has no
// unnamed files, a named temporary file beside the target is used instead,
// and it is removed on error, on exit, and on every catchable signal that
// ends the process (INT, TERM, HUP, QUIT, ALRM, PIPE, USR1, USR2).
//
// A target that is a symbolic link is resolved first (the link stays, the
// file it names is replaced, keeping its mode, and its owner and group where
// the user may set them). Standard output, and a target that exists but is
// not a regular file (/dev/null, a FIFO, a terminal), are written directly: a
// device must never be replaced by a file. A regular target that is one of
// the inputs (the same file, through a link or standard input too) is
// refused, as cat refuses "input file is output file": replacing it would
// destroy the log.
#ifndef LOGTALLY_IO_ATOMIC_FILE_H_
#define LOGTALLY_IO_ATOMIC_FILE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace logtally::io {

class OutputFile {
 public:
  // `path` empty or "-" means standard output. `inputs` are the paths the
  // run reads ("-" for standard input); an error if the target is one.
  static absl::StatusOr<OutputFile> Open(const std::string& path,
                                         const std::vector<std::string>& inputs = {});

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();

  absl::Status Write(std::string_view bytes);
  // Flushes and, for a file, links or renames it into place.
  absl::Status Commit();

 private:
  OutputFile() = default;
  absl::Status CommitUnnamed();
  int fd_ = -1;
  std::string path_;
  std::string temp_path_;  // the named temporary file, when there is one
  int temp_slot_ = -1;     // its slot in the signal handler's list
  bool unnamed_ = false;   // an O_TMPFILE file, linked into place on Commit
  bool owns_fd_ = false;   // a device or FIFO opened by name
  bool committed_ = false;
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_ATOMIC_FILE_H_
