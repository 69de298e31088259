#include "io/zstd_stream.h"

#include <zstd.h>

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace logtally::io {
namespace {

// Compressed bytes read from the raw stream at a time. 256 KiB holds two full
// zstd blocks (128 KiB each, the format's maximum), so the decoder never
// stalls on a block split across many small refills, and one read(2) per
// 256 KiB is negligible next to decoding. Memory stays small per input.
constexpr size_t kInputBufferSize = 256 * 1024;

// log2 of the largest window we accept: 128 MiB, libzstd's own default limit
// and what `zstd -d` accepts without --memory. Bounds memory on hostile or
// --long=31 input; such frames fail with "Frame requires too much memory".
constexpr int kWindowLogMax = 27;

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

class ZstdStream final : public ByteStream {
 public:
  ZstdStream(std::unique_ptr<ByteStream> raw, std::string name, ZSTD_DCtx* dctx)
      : raw_(std::move(raw)),
        name_(std::move(name)),
        dctx_(dctx),
        in_(std::make_unique<char[]>(kInputBufferSize)) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!status_.ok()) return status_;
    if (done_ || n == 0) return 0;
    size_t produced = 0;
    for (;;) {
      if (in_pos_ == in_end_ && !output_pending_) {
        if (raw_eof_) {
          // Input ends on a frame boundary: the clean end. Anywhere else
          // (including an empty input) the last frame is cut short.
          if (frame_complete_) {
            done_ = true;
            return produced;
          }
          return Fail(absl::DataLossError(absl::StrCat(
                          name_, ": truncated zstd data: input ends at compressed byte offset ",
                          bytes_read_)),
                      produced);
        }
        if (produced > 0) return produced;  // do not block while holding output
        if (absl::Status s = Refill(); !s.ok()) return Fail(std::move(s), produced);
        continue;
      }

      ZSTD_inBuffer in{in_.get(), in_end_, in_pos_};
      ZSTD_outBuffer out{buf, n, produced};
      const size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in);
      const bool progress = in.pos != in_pos_ || out.pos != produced;
      in_pos_ = in.pos;
      produced = out.pos;
      if (ZSTD_isError(ret)) {
        return Fail(absl::DataLossError(absl::StrCat(
                        name_, ": corrupt zstd data at compressed byte offset ", ConsumedOffset(),
                        ": ", ZSTD_getErrorName(ret))),
                    produced);
      }
      // 0 means a frame (or skippable frame) ended and all of it was flushed.
      // A call that moved nothing (flushing with no output pending) returns
      // the next frame's header size: it does not reopen a frame.
      if (progress) frame_complete_ = ret == 0;
      // With the output full the decoder may still hold decoded bytes; with
      // room left it has flushed everything it could (libzstd's contract).
      output_pending_ = produced == n;
      if (produced == n) return produced;
      if (!progress && in_pos_ < in_end_) {
        // Input and room both available yet nothing moved: stop rather than
        // spin (libzstd guarantees progress, so this is defensive).
        return Fail(absl::DataLossError(absl::StrCat(
                        name_, ": corrupt zstd data at compressed byte offset ", ConsumedOffset(),
                        ": decoder made no progress")),
                    produced);
      }
    }
  }

  uint64_t raw_offset() const override { return ConsumedOffset(); }

 private:
  absl::Status Refill() {
    absl::StatusOr<size_t> got = raw_->Read(in_.get(), kInputBufferSize);
    if (!got.ok()) return got.status();
    if (*got == 0) raw_eof_ = true;
    bytes_read_ += *got;
    in_pos_ = 0;
    in_end_ = *got;
    return absl::OkStatus();
  }

  // Compressed bytes handed to libzstd so far. libzstd buffers up to a block
  // internally, so an error lies at or before this offset, within one block.
  uint64_t ConsumedOffset() const { return bytes_read_ - (in_end_ - in_pos_); }

  absl::StatusOr<size_t> Fail(absl::Status s, size_t produced) {
    status_ = std::move(s);
    if (produced > 0) return produced;
    return status_;
  }

  std::unique_ptr<ByteStream> raw_;
  std::string name_;
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx_;
  std::unique_ptr<char[]> in_;
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  uint64_t bytes_read_ = 0;
  bool raw_eof_ = false;
  bool frame_complete_ = false;
  bool output_pending_ = false;
  bool done_ = false;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteStream>> MakeZstdDecoder(std::unique_ptr<ByteStream> raw,
                                                            std::string name) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(name, ": cannot allocate a zstd decoder"));
  }
  const size_t ret = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, kWindowLogMax);
  if (ZSTD_isError(ret)) {
    ZSTD_freeDCtx(dctx);
    return absl::InternalError(
        absl::StrCat(name, ": cannot configure the zstd decoder: ", ZSTD_getErrorName(ret)));
  }
  return std::make_unique<ZstdStream>(std::move(raw), std::move(name), dctx);
}

}  // namespace logtally::io
