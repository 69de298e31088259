// Sequential byte streams: the one shape every non-mapped input takes.
//
// A ByteStream hands out the bytes of one input in order: a file descriptor
// (pipe, standard input, a file we chose not to map) or a decompressor stacked
// on another stream. It knows nothing about lines or logs; the chunker in
// chunker.h cuts lines. Errors are values: a corrupt archive returns a status
// naming the input and the byte offset where decoding failed.
#ifndef LOGTALLY_IO_BYTE_STREAM_H_
#define LOGTALLY_IO_BYTE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace logtally::io {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Reads up to `n` bytes into `buf`. Returns the number read; 0 means the
  // end of the stream. After an error the stream must not be read again.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;

  // Bytes consumed from the underlying file so far (for a decompressor, the
  // compressed bytes; for a plain stream, the same as the bytes returned).
  virtual uint64_t raw_offset() const = 0;
};

// Reads a file descriptor with read(2). Owns the descriptor when `owns` is
// true. `prefix` holds bytes already read from `fd` (by format sniffing) that
// are returned first.
class FdStream final : public ByteStream {
 public:
  FdStream(int fd, bool owns, std::string name, std::string prefix = {});
  // A regular file read as a snapshot of its size at open: reading stops at
  // `size` bytes (lines appended later are left for the next run), and a file
  // that ends before it (truncated or rotated in place) is an error naming it.
  static std::unique_ptr<FdStream> Snapshot(int fd, bool owns, std::string name, uint64_t size);
  ~FdStream() override;
  FdStream(const FdStream&) = delete;
  FdStream& operator=(const FdStream&) = delete;

  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  uint64_t raw_offset() const override { return offset_; }

 private:
  int fd_;
  bool owns_;
  std::string name_;
  std::string prefix_;
  size_t prefix_pos_ = 0;
  uint64_t offset_ = 0;
  uint64_t limit_ = UINT64_MAX;  // Snapshot: bytes the file had at open
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_BYTE_STREAM_H_
