// Opening one input by content: a path or standard input becomes a mapped
// slice, plain blocks read in parallel, or a (decoded) stream cut into chunks.
//
// This file owns the choice between those shapes and the input's file
// descriptor until it is handed to the shape that reads it. Cutting lines is
// chunker.h's; decoding is decode.h's.
#ifndef LOGTALLY_IO_INPUT_H_
#define LOGTALLY_IO_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "io/chunker.h"
#include "io/decode.h"
#include "io/plain_blocks.h"

namespace logtally::io {

// One input as named on the command line.
struct InputSpec {
  std::string path;  // "-" means standard input
  std::string display;
};

struct OpenOptions {
  size_t chunk_size = kDefaultChunkSize;  // blocks and slices of plain files
  // A plain regular file is mapped (slower on the machines measured: a
  // mapping pays a TLB miss per 4 KiB page; see the README)...
  bool map_plain = false;
  // ...else comes back as PlainBlocks of chunk_size when this is set, else is
  // read with read(2) into recycled chunk buffers.
  bool plain_blocks = false;
  // Everything else is a stream, cut into chunks of this size (0: chunk_size).
  size_t stream_chunk_size = 0;
};

struct OpenedInput {
  std::unique_ptr<Chunker> chunker;  // null when `blocks` is set
  std::unique_ptr<PlainBlocks> blocks;
  Format format = Format::kPlain;
  uint64_t raw_size = 0;  // file size at open; 0 when unknown (pipes)
  int64_t mtime = 0;      // modification time (seconds); 0 for pipes and stdin
  bool mapped = false;
};

// Opens an input and recognises its format by content (decode.h).
absl::StatusOr<OpenedInput> OpenInput(const InputSpec& spec, const OpenOptions& options);

// Up to n bytes of `fd` at `off`: fewer at the end of the file or on a read
// error (for fingerprints of a file's edges, where a short read is an answer).
std::string ReadUpTo(int fd, uint64_t off, size_t n);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_INPUT_H_
