// Cutting inputs into newline-aligned chunks (opening them: input.h).
//
// Invariant (tested by cutting inputs at every byte): the chunks of an input,
// concatenated in index order, are exactly its bytes; every chunk but the last
// ends with '\n'; the last ends with '\n' or is the unterminated final line.
// So no line is lost or doubled at a boundary, and a line longer than the
// chunk size simply makes a longer chunk.
//
// Two shapes, as in ripgrep's searcher: a mapped file is cut into views of the
// mapping (no copy); a stream (pipe, stdin, decompressor) is read into owned
// buffers, and the partial line at the end of one buffer is carried over to
// the start of the next. Chunks are cut serially and may then be parsed in
// parallel; the owning buffer travels with the chunk and is recycled.
#ifndef LOGTALLY_IO_CHUNKER_H_
#define LOGTALLY_IO_CHUNKER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "io/byte_stream.h"
#include "io/big_alloc.h"
#include "io/decode.h"
#include "io/mapped_file.h"
#include "io/plain_blocks.h"

namespace logtally::io {

// Default chunk: 1 MiB keeps a chunk and its parse state within L2 while
// making the per-chunk hand-off cost negligible (~4,000 lines per chunk).
inline constexpr size_t kDefaultChunkSize = size_t{1} << 20;
// Chunks cut from a stream (decompressed data, a pipe) are handed from the
// reading thread to another core: 512 KiB was 2.5-3% faster than 1 MiB for
// .gz, .zst and two .gz archives at -j 2 (paired runs; README), while plain
// files, whose blocks are read by the core that counts them, keep 1 MiB.
inline constexpr size_t kDefaultStreamChunkSize = size_t{512} << 10;

struct Chunk {
  std::string_view data;   // whole lines; valid until the chunk is recycled
  uint64_t offset = 0;     // offset of data[0] in the (decoded) input
  uint64_t index = 0;      // position of this chunk in the input
  // Stream chunks: the buffer behind `data`. BigAlloc memory: the reading
  // thread (the critical path for an archive) would otherwise fault in each
  // pooled buffer 4 KiB at a time.
  BigBuffer owned;
  size_t capacity = 0;
};

class Chunker {
 public:
  virtual ~Chunker() = default;
  // Fills `chunk` with the next chunk. Returns false at the end of input.
  // An error (read or decode) ends the input; complete lines read before it
  // were returned by earlier calls.
  virtual absl::StatusOr<bool> Next(Chunk& chunk) = 0;
  // Gives a finished chunk's buffer back for reuse (thread-safe).
  virtual void Recycle(Chunk& chunk) { chunk.owned.reset(); }
  // Bytes consumed from the file itself (compressed bytes for archives).
  virtual uint64_t raw_offset() const = 0;
  // Bytes of the incomplete final line dropped because of an error, if any.
  virtual uint64_t dropped_bytes() const { return 0; }
  // Promises that at most `chunks` chunks are in flight at once, so a chunk
  // handed out `chunks` calls ago is finished. A mapped input then releases
  // those pages, so resident memory stays bounded on inputs of any size.
  virtual void SetInFlightLimit(size_t chunks) {}
};

// Cuts a byte range that stays valid while the chunker lives (a mapping).
class SliceChunker final : public Chunker {
 public:
  SliceChunker(std::string_view data, size_t chunk_size, MappedFile mapping = {});
  absl::StatusOr<bool> Next(Chunk& chunk) override;
  uint64_t raw_offset() const override { return pos_; }
  void SetInFlightLimit(size_t chunks) override { in_flight_ = chunks; }
  const MappedFile& mapping() const { return mapping_; }

 private:
  MappedFile mapping_;
  size_t in_flight_ = 0;        // 0: never release
  size_t released_ = 0;         // bytes before this are released
  std::vector<size_t> ends_;    // end offsets of the last in_flight_ chunks (a ring)
  std::string_view data_;
  size_t chunk_size_;
  size_t pos_ = 0;
  uint64_t index_ = 0;
};

// Reads a ByteStream into owned buffers with carry-over of the partial line.
class StreamChunker final : public Chunker {
 public:
  StreamChunker(std::unique_ptr<ByteStream> stream, size_t chunk_size);
  absl::StatusOr<bool> Next(Chunk& chunk) override;
  void Recycle(Chunk& chunk) override;
  uint64_t raw_offset() const override { return stream_->raw_offset(); }
  uint64_t dropped_bytes() const override { return dropped_; }

 private:
  BigBuffer TakeBuffer(size_t capacity);

  std::unique_ptr<ByteStream> stream_;
  size_t chunk_size_;
  std::string carry_;         // partial line left over from the last buffer
  uint64_t offset_ = 0;       // decoded bytes handed out so far
  uint64_t index_ = 0;
  uint64_t dropped_ = 0;
  bool eof_ = false;
  absl::Status pending_;      // an error to report after the last good chunk
  std::mutex pool_mu_;
  std::vector<BigBuffer> pool_;  // buffers of chunk_size_
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_CHUNKER_H_
