#include "io/byte_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace logtally::io {
namespace {
constexpr int kPipeBytes = 1 << 20;
}  // namespace

FdStream::FdStream(int fd, bool owns, std::string name, std::string prefix)
    : fd_(fd), owns_(owns), name_(std::move(name)), prefix_(std::move(prefix)) {
  // A pipe holds 64 KiB by default: the writer (cat, zcat) and we then take
  // turns every 64 KiB, a pair of wake-ups each. Ask for 1 MiB, the most an
  // unprivileged process may (fs.pipe-max-size); a refusal changes nothing.
  struct stat st;
  if (::fstat(fd_, &st) == 0 && S_ISFIFO(st.st_mode)) ::fcntl(fd_, F_SETPIPE_SZ, kPipeBytes);
}

FdStream::~FdStream() {
  if (owns_ && fd_ >= 0) ::close(fd_);
}

std::unique_ptr<FdStream> FdStream::Snapshot(int fd, bool owns, std::string name, uint64_t size) {
  auto s = std::make_unique<FdStream>(fd, owns, std::move(name));
  s->limit_ = size;
  return s;
}

absl::StatusOr<size_t> FdStream::Read(char* buf, size_t n) {
  if (prefix_pos_ < prefix_.size()) {
    size_t take = std::min(n, prefix_.size() - prefix_pos_);
    std::memcpy(buf, prefix_.data() + prefix_pos_, take);
    prefix_pos_ += take;
    offset_ += take;
    return take;
  }
  if (limit_ != UINT64_MAX) n = static_cast<size_t>(std::min<uint64_t>(n, limit_ - offset_));
  if (n == 0) return size_t{0};
  for (;;) {
    ssize_t got = ::read(fd_, buf, n);
    if (got == 0 && limit_ != UINT64_MAX) {
      return absl::DataLossError(absl::StrCat(
          name_, ": the file shrank while it was being read (truncated or rotated in place): ",
          "it had ", limit_, " bytes at open and ended at byte offset ", offset_));
    }
    if (got >= 0) {
      offset_ += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
    if (errno == EINTR) continue;
    return absl::DataLossError(absl::StrCat(name_, ": read error at byte offset ", offset_, ": ",
                                            std::strerror(errno)));
  }
}

}  // namespace logtally::io
