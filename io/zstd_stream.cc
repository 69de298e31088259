#include "io/zstd_stream.h"

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/decoder_errors.h"

namespace logtally::io {
namespace {

// Compressed bytes read from the raw stream at a time. 256 KiB holds any
// whole zstd block (at most 128 KiB plus a 3-byte header), which Read gathers
// before decoding it, and one read(2) per 256 KiB is negligible next to
// decoding. Memory stays small per input.
constexpr size_t kInputBufferSize = 256 * 1024;

// log2 of the largest window we accept: 128 MiB, libzstd's own default limit
// and what `zstd -d` accepts without --memory. Bounds memory on hostile or
// --long=31 input; such frames fail with "Frame requires too much memory".
constexpr int kWindowLogMax = 27;

// Input offered at the start of a frame: the magic number and the frame
// header descriptor, from which libzstd tells how much more header it needs.
constexpr size_t kFrameStartBytes = 5;

// Size of a zstd block header (RFC 8878, section 3.1.1.2).
constexpr size_t kBlockHeaderBytes = 3;

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

class ZstdStream final : public ByteStream {
 public:
  ZstdStream(std::unique_ptr<ByteStream> raw, std::string name, ZSTD_DCtx* dctx)
      : raw_(std::move(raw)),
        errors_(std::move(name), "zstd"),
        dctx_(dctx),
        in_(std::make_unique_for_overwrite<char[]>(kInputBufferSize)) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!errors_.status().ok()) return errors_.status();
    if (done_ || n == 0) return 0;
    size_t produced = 0;
    for (;;) {
      // After a call that filled the output, libzstd may still hold decoded
      // bytes: flush them with no new input before anything else.
      const bool flush_only = output_pending_;
      // Gather the whole unit libzstd asked for before offering it (up to a
      // buffer; only a skippable frame's payload is ever larger). Decoding
      // then does not depend on how the raw stream happens to be cut, and
      // libzstd decodes from our buffer without copying into its own.
      const size_t want = std::min(next_unit_, kInputBufferSize);
      if (!flush_only && in_end_ - in_pos_ < want && !raw_eof_) {
        if (produced > 0) return produced;  // do not block while holding output
        if (absl::Status s = Refill(); !s.ok()) return errors_.Fail(std::move(s), produced);
        continue;
      }
      if (!flush_only && in_pos_ == in_end_) {
        if (raw_eof_) {
          // Input ends on a frame boundary: the clean end. Anywhere else
          // (including an empty input) the last frame is cut short.
          if (frame_complete_) {
            done_ = true;
            return produced;
          }
          return errors_.Fail(errors_.Truncated(bytes_read_), produced);
        }
        if (produced > 0) return produced;  // do not block while holding output
        if (absl::Status s = Refill(); !s.ok()) return errors_.Fail(std::move(s), produced);
        continue;
      }

      // Offer one unit at a time (see NextUnit). libzstd reports no progress
      // at all from a call that fails, so a call must not both flush good
      // blocks and meet a bad one: decoding one unit per call, after any
      // pending output was flushed on its own, returns every byte of the
      // blocks before a corrupt one first. (With a whole frame at hand libzstd
      // would also take a single-pass shortcut with the same problem.)
      const size_t feed = flush_only ? 0 : std::min(in_end_ - in_pos_, next_unit_);
      ZSTD_inBuffer in{in_.get(), in_pos_ + feed, in_pos_};
      ZSTD_outBuffer out{buf, n, produced};
      const size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in);
      const bool progress = in.pos != in_pos_ || out.pos != produced;
      in_pos_ = in.pos;
      produced = out.pos;
      if (ZSTD_isError(ret)) {
        return errors_.Fail(errors_.Corrupt(ConsumedOffset(), ZSTD_getErrorName(ret)), produced);
      }
      // 0 means a frame (or skippable frame) ended and all of it was flushed.
      // A call that moved nothing returns a hint without changing anything.
      if (progress) {
        frame_complete_ = ret == 0;
        next_unit_ = NextUnit(ret);
      }
      // With the output full the decoder may still hold decoded bytes; with
      // room left it has flushed everything it could (libzstd's contract).
      output_pending_ = produced == n;
      if (produced == n) return produced;
      if (!progress && feed > 0) {
        // Input and room both available yet nothing moved: stop rather than
        // spin (libzstd guarantees progress, so this is defensive).
        return errors_.Fail(errors_.Corrupt(ConsumedOffset(), "decoder made no progress"), produced);
      }
    }
  }

  uint64_t raw_offset() const override { return ConsumedOffset(); }

 private:
  // The input to offer after a call that returned `hint`. libzstd's hint is
  // the rest of the current unit (frame header, block or checksum) plus,
  // after a block, the next block's 3-byte header. Holding those 3 bytes back
  // keeps the next block's header out of the call that decodes (and
  // flushes) this block; when the hint had no header in it, the unit just
  // arrives in two calls. 0 means a frame ended: the next one starts.
  static size_t NextUnit(size_t hint) {
    if (hint == 0) return kFrameStartBytes;
    return hint > kBlockHeaderBytes ? hint - kBlockHeaderBytes : hint;
  }

  // Moves the unconsumed input to the front of the buffer and appends one
  // read's worth from the raw stream. A zero-length read is the end of input.
  absl::Status Refill() {
    const size_t keep = in_end_ - in_pos_;
    if (keep > 0 && in_pos_ > 0) std::memmove(in_.get(), in_.get() + in_pos_, keep);
    in_pos_ = 0;
    in_end_ = keep;
    absl::StatusOr<size_t> got = raw_->Read(in_.get() + keep, kInputBufferSize - keep);
    if (!got.ok()) return got.status();
    if (*got == 0) raw_eof_ = true;
    bytes_read_ += *got;
    in_end_ = keep + *got;
    return absl::OkStatus();
  }

  // Compressed bytes handed to libzstd so far. libzstd reports no progress
  // from a failing call, so on error this is the start of the unit (frame
  // header, block or checksum) found bad.
  uint64_t ConsumedOffset() const { return bytes_read_ - (in_end_ - in_pos_); }

  std::unique_ptr<ByteStream> raw_;
  DecoderErrors errors_;
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx_;
  std::unique_ptr<char[]> in_;
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  uint64_t bytes_read_ = 0;
  bool raw_eof_ = false;
  bool frame_complete_ = false;
  // Input bytes to offer the next call (see NextUnit).
  size_t next_unit_ = kFrameStartBytes;
  bool output_pending_ = false;
  bool done_ = false;
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
