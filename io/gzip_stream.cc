#include "io/gzip_stream.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "io/decoder_errors.h"

namespace logtally::io {
namespace {

// Compressed bytes read from the raw stream at a time. Firewall logs compress
// 4:1 to 20:1, so one 256 KiB refill feeds 1-5 MB of output: one read(2) per
// refill is noise next to ISA-L's ~1 GB/s, the buffer stays in L2 cache, and
// many inputs open at once cost little memory. On 1 GB of netfilter logs 64
// KiB and 1 MiB buffers measured no faster (1 MiB slightly slower).
constexpr size_t kInputBufferSize = 256 * 1024;

// ISA-L counts output in uint32_t; a request larger than this is served short
// (a legal ByteStream answer) rather than truncated to a wrong size.
constexpr size_t kMaxOutputPerCall = size_t{1} << 30;

// The longest deflate match (RFC 1951, section 3.2.5).
constexpr size_t kMaxMatchLength = 258;

// The two magic bytes of a gzip member (RFC 1952, section 2.3.1).
constexpr uint8_t kGzipId1 = 0x1f;
constexpr uint8_t kGzipId2 = 0x8b;

const char* InflateErrorText(int ret) {
  switch (ret) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "back-reference before the start of the data";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method in gzip header";
    case ISAL_INCORRECT_CHECKSUM:
      return "checksum mismatch: the member's CRC32 or ISIZE differs from the decoded data";
    case ISAL_NEED_DICT: return "preset dictionary required";
    default: return "unknown ISA-L inflate error";
  }
}

class GzipStream final : public ByteStream {
 public:
  GzipStream(std::unique_ptr<ByteStream> raw, std::string name)
      : raw_(std::move(raw)),
        errors_(std::move(name), "gzip"),
        in_(std::make_unique_for_overwrite<uint8_t[]>(kInputBufferSize)),
        // Not zeroed: isal_inflate_init sets what ISA-L reads before writing.
        state_(std::make_unique_for_overwrite<inflate_state>()) {
    isal_inflate_init(state_.get());
    StartMember();
    state_->next_in = in_.get();
    state_->avail_in = 0;
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (done_ || n == 0) return 0;
    if (!errors_.status().ok()) {
      if (owed_pos_ == owed_end_) return errors_.status();
      const size_t take = std::min(n, owed_end_ - owed_pos_);
      std::memcpy(buf, state_->tmp_out_buffer + owed_pos_, take);
      owed_pos_ += take;
      return take;
    }
    n = std::min(n, kMaxOutputPerCall);
    size_t produced = 0;
    for (;;) {
      if (state_->block_state == ISAL_BLOCK_FINISH) {
        // A member ended and isal_inflate verified its CRC32 and ISIZE. The
        // stream ends here unless more bytes follow, which must then start
        // another member.
        if (state_->avail_in < 2 && !raw_eof_) {
          if (produced > 0) return produced;  // do not block while holding output
          if (absl::Status s = Refill(); !s.ok()) return errors_.Fail(std::move(s), produced);
          continue;
        }
        if (state_->avail_in == 0) {
          done_ = true;
          return produced;
        }
        const uint8_t* p = state_->next_in;
        if (p[0] != kGzipId1 || (state_->avail_in >= 2 && p[1] != kGzipId2)) {
          return errors_.Fail(errors_.Corrupt(ConsumedOffset(),
                                              "unexpected bytes after the end of a gzip member "
                                              "(not a gzip header)"),
                              produced);
        }
        StartMember();
      }

      if (in_header_) {
        // The member header is parsed on its own, with a header struct that
        // persists across calls: isal_inflate's built-in ISAL_GZIP parsing
        // (ISA-L 2.30) loses the running header CRC16 when a header with
        // FHCRC spans two input buffers and then rejects a valid file.
        const int ret = isal_read_gzip_header(state_.get(), &header_);
        if (ret == ISAL_DECOMP_OK) {
          in_header_ = false;
          continue;
        }
        if (ret != ISAL_END_INPUT) {
          return errors_.Fail(errors_.Corrupt(ConsumedOffset(), ret == ISAL_INCORRECT_CHECKSUM
                                                                    ? "gzip header checksum mismatch (CRC16)"
                                                                    : InflateErrorText(ret)),
                              produced);
        }
        // ISAL_END_INPUT: every input byte was taken; the header goes on.
        if (raw_eof_) return errors_.Fail(errors_.Truncated(bytes_read_), produced);
        if (produced > 0) return produced;
        if (absl::Status s = Refill(); !s.ok()) return errors_.Fail(std::move(s), produced);
        continue;
      }

      const uint32_t in_before = state_->avail_in;
      const size_t room = n - produced;
      state_->next_out = reinterpret_cast<uint8_t*>(buf + produced);
      state_->avail_out = static_cast<uint32_t>(room);
      const int ret = isal_inflate(state_.get());
      produced += room - state_->avail_out;
      if (ret != ISAL_DECOMP_OK) {
        // With little room in the caller's buffer ISA-L decodes ahead into its
        // own window buffer; what it decoded there before the bad symbol is
        // valid output and is handed out before the error.
        const int32_t valid = state_->tmp_out_valid, processed = state_->tmp_out_processed;
        if (processed >= 0 && processed < valid &&
            static_cast<size_t>(valid) <= sizeof state_->tmp_out_buffer) {
          owed_pos_ = static_cast<size_t>(processed);
          owed_end_ = static_cast<size_t>(valid);
        }
        if (ret == ISAL_INVALID_LOOKBACK) {
          // ISA-L's assembly decoder advances the output past a match before
          // it checks the match's distance, so the last bytes of this call's
          // output are the bad match's length (at most 258) of stale buffer
          // content, not data. Drop up to that many from the tail of what
          // this call produced: the junk goes, and at most 258 genuine bytes
          // right before the corruption go with it.
          size_t junk =
              std::min(kMaxMatchLength, (room - state_->avail_out) + owed_end_ - owed_pos_);
          const size_t from_owed = std::min(junk, owed_end_ - owed_pos_);
          owed_end_ -= from_owed;
          junk -= from_owed;
          produced -= junk;
        }
        const size_t take = std::min(n - produced, owed_end_ - owed_pos_);
        std::memcpy(buf + produced, state_->tmp_out_buffer + owed_pos_, take);
        owed_pos_ += take;
        produced += take;
        return errors_.Fail(errors_.Corrupt(ErrorOffset(), InflateErrorText(ret)), produced);
      }
      if (produced == n) return produced;
      if (state_->block_state == ISAL_BLOCK_FINISH) continue;
      const bool progress = state_->avail_in != in_before || state_->avail_out != room;
      if (progress) continue;

      // No progress with room to write: the decoder needs more input.
      if (raw_eof_) return errors_.Fail(errors_.Truncated(bytes_read_), produced);
      if (produced > 0) return produced;
      if (state_->avail_in == kInputBufferSize) {
        // A full buffer that yields nothing would loop forever; ISA-L never
        // needs this much lookahead, so this is a defensive stop.
        return errors_.Fail(errors_.Corrupt(ErrorOffset(), "decoder made no progress"), produced);
      }
      if (absl::Status s = Refill(); !s.ok()) return errors_.Fail(std::move(s), produced);
    }
  }

  uint64_t raw_offset() const override { return ConsumedOffset(); }

 private:
  void StartMember() {
    isal_inflate_reset(state_.get());
    // The header is read by isal_read_gzip_header (see Read); then
    // ISAL_GZIP_NO_HDR_VER makes isal_inflate decode the deflate data and
    // verify the trailer's CRC32 and ISIZE. hist_bits 0: full 32 KiB window.
    state_->crc_flag = ISAL_GZIP_NO_HDR_VER;
    state_->hist_bits = 0;
    // Null buffers: the name, comment and extra field are skipped, not kept.
    isal_gzip_header_init(&header_);
    in_header_ = true;
  }

  // Moves the unconsumed input to the front of the buffer and appends one
  // read's worth from the raw stream. A zero-length read is the end of input.
  absl::Status Refill() {
    uint8_t* base = in_.get();
    const size_t keep = state_->avail_in;
    if (keep > 0 && state_->next_in != base) std::memmove(base, state_->next_in, keep);
    absl::StatusOr<size_t> got =
        raw_->Read(reinterpret_cast<char*>(base + keep), kInputBufferSize - keep);
    if (!got.ok()) return got.status();
    if (*got == 0) raw_eof_ = true;
    bytes_read_ += *got;
    state_->next_in = base;
    in_len_ = keep + *got;
    state_->avail_in = static_cast<uint32_t>(in_len_);
    return absl::OkStatus();
  }

  // Compressed bytes handed to the decoder so far. Computed from next_in and
  // clamped to the buffer: after an error ISA-L's assembly decoder can leave
  // avail_in off by its input slop (even wrapped below zero).
  uint64_t ConsumedOffset() const {
    const uint8_t* base = in_.get();
    const uint8_t* next = std::clamp<const uint8_t*>(state_->next_in, base, base + in_len_);
    return bytes_read_ - static_cast<uint64_t>(base + in_len_ - next);
  }

  // Where decoding stopped: the consumed bytes less those still whole in
  // ISA-L's 64-bit lookahead register, i.e. the byte holding the next bit.
  uint64_t ErrorOffset() const {
    const uint64_t buffered = static_cast<uint64_t>(std::clamp(state_->read_in_length, 0, 64) / 8);
    const uint64_t consumed = ConsumedOffset();
    return consumed >= buffered ? consumed - buffered : 0;
  }

  std::unique_ptr<ByteStream> raw_;
  DecoderErrors errors_;
  std::unique_ptr<uint8_t[]> in_;
  // ~90 KB (32 KiB window twice plus Huffman tables): on the heap, not inline.
  std::unique_ptr<inflate_state> state_;
  isal_gzip_header header_;
  bool in_header_ = true;
  // After a decoding error: decoded bytes still owed to the caller, as
  // [owed_pos_, owed_end_) of state_->tmp_out_buffer.
  size_t owed_pos_ = 0;
  size_t owed_end_ = 0;
  size_t in_len_ = 0;  // bytes in in_, consumed or not
  uint64_t bytes_read_ = 0;
  bool raw_eof_ = false;
  bool done_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteStream>> MakeGzipDecoder(std::unique_ptr<ByteStream> raw,
                                                            std::string name) {
  return std::make_unique<GzipStream>(std::move(raw), std::move(name));
}

}  // namespace logtally::io
