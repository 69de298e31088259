#include "io/plain_blocks.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace logtally::io {
namespace {

// Bytes read past a block's end at first to finish its last line: a few
// typical lines; a longer line reads on in doubling steps.
constexpr size_t kTail = 4096;
// The unit of the kernel's page-cache copy.
constexpr size_t kPageSize = 4096;

}  // namespace

PlainBlocks::PlainBlocks(int fd, bool owns, std::string name, uint64_t start, uint64_t size,
                         size_t block)
    : fd_(fd),
      owns_(owns),
      name_(std::move(name)),
      start_(start),
      size_(size),
      block_(std::max<size_t>(block, 1)),
      count_(static_cast<size_t>((size + block_ - 1) / block_)) {}

PlainBlocks::~PlainBlocks() {
  if (owns_ && fd_ >= 0) ::close(fd_);
}

uint64_t PlainBlocks::block_bytes(size_t i) const {
  uint64_t lo = static_cast<uint64_t>(i) * block_;
  return lo >= size_ ? 0 : std::min<uint64_t>(block_, size_ - lo);
}

absl::StatusOr<size_t> PlainBlocks::ReadAt(uint64_t off, char* dst, size_t n) const {
  if (off >= size_) return size_t{0};
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, dst + got, n - got, static_cast<off_t>(start_ + off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat(name_, ": read error at byte offset ", off + got,
                                              ": ", std::strerror(errno)));
    }
    if (r == 0) {
      return absl::DataLossError(absl::StrCat(
          name_, ": the file shrank while it was being read (truncated or rotated in place): ",
          "it had ", size_, " bytes at open and ended at byte offset ", off + got));
    }
    got += static_cast<size_t>(r);
  }
  return got;
}

absl::StatusOr<std::string_view> PlainBlocks::Read(size_t i, BlockBuffer& buf) const {
  const uint64_t lo = static_cast<uint64_t>(i) * block_;
  if (lo >= size_) return std::string_view();
  const uint64_t hi = std::min<uint64_t>(lo + block_, size_);
  // From one byte before the block (is its first byte a line start?) to a
  // little past it (the end of its last line).
  const uint64_t from = lo == 0 ? 0 : lo - 1;
  // The bytes land `pad` bytes into the buffer, so that the destination
  // address and the file offset agree modulo the page size: the kernel copies
  // page-cache pages 3-5x slower when they disagree (docs/performance.md,
  // "The read path"). Growing the buffer below keeps the index, so the view
  // stays right even if a new buffer were aligned differently.
  size_t want = static_cast<size_t>(hi - from) + kTail;
  if (buf.size() < kPageSize + want) buf.resize(kPageSize + want);
  const size_t pad = static_cast<size_t>(
      (start_ + from - reinterpret_cast<uintptr_t>(buf.data())) % kPageSize);
  char* base = buf.data() + pad;
  absl::StatusOr<size_t> got = ReadAt(from, base, want);
  if (!got.ok()) return got.status();
  size_t have = *got;
  // The first line starting in the block.
  size_t first = 0;
  if (lo > 0) {
    const size_t in_block = static_cast<size_t>(hi - from);  // bytes up to hi
    const void* nl = std::memchr(base, '\n', in_block);
    if (nl == nullptr) return std::string_view();  // a line from before covers the block
    first = static_cast<size_t>(static_cast<const char*>(nl) - base) + 1;
    if (first >= in_block) return std::string_view();
  }
  // The end of the last line starting before hi: the first newline at or
  // after hi - 1, reading on as needed; the end of the file otherwise.
  size_t scan = static_cast<size_t>(hi - 1 - from);
  if (scan < first) scan = first;
  for (;;) {
    const void* nl = std::memchr(base + scan, '\n', have - scan);
    if (nl != nullptr) {
      size_t end = static_cast<size_t>(static_cast<const char*>(nl) - base) + 1;
      return std::string_view(base + first, end - first);
    }
    if (from + have >= size_) return std::string_view(base + first, have - first);
    scan = have;
    size_t more = std::max(have, kTail);
    if (buf.size() < pad + have + more) {
      buf.resize(pad + have + more);
      base = buf.data() + pad;
    }
    got = ReadAt(from + have, base + have, more);
    if (!got.ok()) return got.status();
    have += *got;
  }
}

absl::StatusOr<std::string> PlainBlocks::FirstNonBlankLine() const {
  std::string line;
  std::vector<char> buf(64 << 10);
  uint64_t off = 0;
  bool started = false;
  while (off < size_) {
    absl::StatusOr<size_t> got = ReadAt(off, buf.data(), buf.size());
    if (!got.ok()) return got.status();
    size_t i = 0;
    if (!started) {
      while (i < *got && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) ++i;
      if (i == *got) {
        off += *got;
        continue;
      }
      started = true;
    }
    const void* nl = std::memchr(buf.data() + i, '\n', *got - i);
    size_t e = nl == nullptr ? *got : static_cast<size_t>(static_cast<const char*>(nl) - buf.data());
    line.append(buf.data() + i, e - i);
    if (nl != nullptr) break;
    off += *got;
  }
  return line;
}

}  // namespace logtally::io
