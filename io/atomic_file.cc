#include "io/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace logtally::io {

absl::StatusOr<OutputFile> OutputFile::Open(const std::string& path) {
  OutputFile f;
  if (path.empty() || path == "-") {
    f.fd_ = 1;
    return f;
  }
  f.path_ = path;
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot write output: is a directory"));
    }
    // A device, FIFO or socket: written in place, never replaced.
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": cannot open output: ", std::strerror(errno)));
    }
    f.fd_ = fd;
    f.owns_fd_ = true;
    return f;
  }
  std::string target = path;
  mode_t mode = 0;
  if (exists) {
    // Replace the file a symbolic link names, not the link.
    char* real = ::realpath(path.c_str(), nullptr);
    if (real != nullptr) {
      target = real;
      ::free(real);
    }
    mode = st.st_mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  f.path_ = target;
  f.temp_path_ = absl::StrCat(target, ".tmp.XXXXXX");
  int fd = ::mkstemp(f.temp_path_.data());
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot create output file: ", std::strerror(errno)));
  }
  // mkstemp creates 0600: give the new file the old one's mode, or the usual
  // 0666 & ~umask.
  ::fchmod(fd, mode);
  f.fd_ = fd;
  return f;
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      owns_fd_(std::exchange(other.owns_fd_, false)),
      committed_(std::exchange(other.committed_, true)) {}

OutputFile::~OutputFile() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  if (temp_path_.empty()) return;
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

absl::Status OutputFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat(path_.empty() ? "standard output" : path_,
                                              ": write failed: ", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status OutputFile::Commit() {
  if (owns_fd_) {
    owns_fd_ = false;
    if (::close(std::exchange(fd_, -1)) != 0) {
      return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  if (temp_path_.empty()) return absl::OkStatus();
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    return absl::DataLossError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return absl::DataLossError(absl::StrCat(path_, ": cannot rename into place: ", std::strerror(errno)));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace logtally::io
