// A plain regular file read in parallel: fixed blocks of the file, each read
// with pread(2) by the thread that then counts it.
//
// Cutting chunks serially (StreamChunker) makes one thread copy the whole
// file and hand the bytes to another core to count. Here the cut needs no
// bytes at all: block i is the bytes [start + i*B, start + (i+1)*B), and it
// holds the lines that *start* in it (Arrow's CSV reader and most parallel
// line readers use the same rule). Its reader looks one byte back to see
// whether its first byte starts a line, skips the partial line that belongs to
// the block before, and reads past its end to finish its last line. Every
// line is in exactly one block, the copy happens on the counting core (the
// bytes are in its cache when counting starts), and blocks read in parallel.
//
// The file is a snapshot of its size at open, as in FdStream::Snapshot: a
// file that ends early is an error naming it and the offset.
#ifndef LOGTALLY_IO_PLAIN_BLOCKS_H_
#define LOGTALLY_IO_PLAIN_BLOCKS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "io/big_alloc.h"

namespace logtally::io {

// A block's bytes: huge-page memory (BigAlloc), not zeroed by resize().
// A fresh 1 MiB vector<char> cost 256 page faults (a few ms in a VM) on
// each counting thread; this is one.
using BlockBuffer = std::vector<char, UninitBigAllocator<char>>;

class PlainBlocks {
 public:
  // Reads [start, start + size) of `fd` (closed on destruction when `owns`).
  PlainBlocks(int fd, bool owns, std::string name, uint64_t start, uint64_t size, size_t block);
  ~PlainBlocks();
  PlainBlocks(const PlainBlocks&) = delete;
  PlainBlocks& operator=(const PlainBlocks&) = delete;

  size_t count() const { return count_; }
  uint64_t size() const { return size_; }
  // The bytes of block i in the file: for progress.
  uint64_t block_bytes(size_t i) const;
  // The whole lines that start in block i, read into `buf` (grown as
  // needed, reused across calls). Thread-safe: blocks are independent.
  absl::StatusOr<std::string_view> Read(size_t i, BlockBuffer& buf) const;
  // The first line that is not blank (spaces, tabs, CR, LF), without its
  // newline; empty when there is none. For telling JSON lines from text.
  absl::StatusOr<std::string> FirstNonBlankLine() const;

 private:
  // Reads [off, off + n) relative to start_ into dst; short only at the end
  // of the snapshot. A file that ends earlier is an error.
  absl::StatusOr<size_t> ReadAt(uint64_t off, char* dst, size_t n) const;

  int fd_;
  bool owns_;
  std::string name_;
  uint64_t start_;
  uint64_t size_;
  size_t block_;
  size_t count_;
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_PLAIN_BLOCKS_H_
