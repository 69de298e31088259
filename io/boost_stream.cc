#include "io/boost_stream.h"

#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "io/decoder_errors.h"

namespace logtally::io {
namespace {

namespace bio = boost::iostreams;

// Compressed bytes read from the raw stream at a time. bzip2 and xz decode at
// 10-100 MB/s, so refill cost is irrelevant; 256 KiB keeps one buffer size for
// every decoder and memory per input small.
constexpr size_t kInputBufferSize = 256 * 1024;

// The symmetric_filter wrapper allocates a buffer of this size that we never
// use (we call its decompressor directly); the size must be positive.
constexpr std::streamsize kUnusedFilterBuffer = 1;

// liblzma status codes that Boost does not export (lzma.h, lzma_ret; stable
// ABI values). We do not include lzma.h: it is not a dependency of ours.
constexpr int kLzmaMemlimitError = 6;
constexpr int kLzmaFormatError = 7;
constexpr int kLzmaOptionsError = 8;

struct Bzip2Traits {
  using Filter = bio::bzip2_decompressor;
  using Error = bio::bzip2_error;
  static constexpr absl::string_view kFormat = "bzip2";
  // small=false: the fast decoder (~4 MB for 900 kB blocks) over the slow
  // low-memory one.
  static Filter Make() { return Filter(/*small=*/false, kUnusedFilterBuffer); }
  static bool IsTruncation(int code) { return code == bio::bzip2::unexpected_eof; }
  static std::string Describe(int code) {
    if (code == bio::bzip2::data_error) return "data integrity error (bad block CRC or block data)";
    if (code == bio::bzip2::data_error_magic) {
      return "bad bzip2 stream header (or unexpected bytes after a bzip2 stream)";
    }
    return absl::StrCat("libbzip2 error ", code);
  }
};

struct XzTraits {
  using Filter = bio::lzma_decompressor;
  using Error = bio::lzma_error;
  static constexpr absl::string_view kFormat = "xz";
  static Filter Make() { return Filter(kUnusedFilterBuffer); }
  // With LZMA_FINISH and the input cut short liblzma reports "no progress".
  static bool IsTruncation(int code) { return code == bio::lzma::buf_error; }
  static std::string Describe(int code) {
    if (code == bio::lzma::data_error) {
      return "corrupt data (bad header, check, size or LZMA2 data, or bytes after a stream)";
    }
    if (code == kLzmaFormatError) {
      return "bad xz stream header (or unexpected bytes after an xz stream)";
    }
    if (code == kLzmaOptionsError) return "unsupported xz options";
    if (code == kLzmaMemlimitError) return "stream needs more than the 100 MiB memory limit";
    if (code == bio::lzma::unsupported_check) return "unsupported integrity check type";
    return absl::StrCat("liblzma error ", code);
  }
};

template <typename Traits>
class BoostStream final : public ByteStream {
 public:
  BoostStream(std::unique_ptr<ByteStream> raw, std::string name)
      : raw_(std::move(raw)),
        errors_(std::move(name), Traits::kFormat),
        filter_(Traits::Make()),
        in_(std::make_unique_for_overwrite<char[]>(kInputBufferSize)) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!errors_.status().ok()) return errors_.status();
    if (done_ || n == 0) return 0;
    size_t produced = 0;
    for (;;) {
      if (in_pos_ == in_end_ && !output_pending_ && !raw_eof_) {
        if (produced > 0) return produced;  // do not block while holding output
        if (absl::Status s = Refill(); !s.ok()) return errors_.Fail(std::move(s), produced);
        continue;
      }
      // At the end of the input the decoder is told to finish: it then
      // reports a stream cut short instead of waiting for more.
      const bool flush = raw_eof_ && in_pos_ == in_end_;
      const char* src = in_.get() + in_pos_;
      char* dest = buf + produced;
      bool more = true;
      // What went wrong, if anything; turned into a status only once the
      // positions below are updated, so that the offset is exact.
      enum class Failure { kNone, kDecoder, kMemory, kOther } failure = Failure::kNone;
      int code = 0;
      std::string what;
      try {
        // The impl's filter() updates src/dest before it throws, so the
        // positions below are right on error too.
        more = filter_.filter().filter(src, in_.get() + in_end_, dest, buf + n, flush);
      } catch (const typename Traits::Error& e) {
        failure = Failure::kDecoder;
        code = e.error();
      } catch (const std::bad_alloc&) {
        failure = Failure::kMemory;
      } catch (const std::exception& e) {
        failure = Failure::kOther;
        what = e.what();
      }
      const size_t new_pos = static_cast<size_t>(src - in_.get());
      const size_t new_produced = static_cast<size_t>(dest - buf);
      const bool progress = new_pos != in_pos_ || new_produced != produced;
      in_pos_ = new_pos;
      produced = new_produced;
      switch (failure) {
        case Failure::kNone: break;
        case Failure::kDecoder:
          return errors_.Fail(
              (flush && Traits::IsTruncation(code)) ? errors_.Truncated(bytes_read_)
                                                   : errors_.Corrupt(ConsumedOffset(), Traits::Describe(code)),
              produced);
        case Failure::kMemory:
          return errors_.Fail(absl::ResourceExhaustedError(absl::StrCat(
                                  errors_.name(), ": out of memory decoding ", Traits::kFormat,
                                  " data at compressed byte offset ", ConsumedOffset())),
                              produced);
        case Failure::kOther: return errors_.Fail(errors_.Corrupt(ConsumedOffset(), what), produced);
      }
      if (!more) {
        // The filter returns false once a stream has ended, every decoded
        // byte is out and no input is left. At the end of the input that is
        // the clean end; before it, another stream may follow: refill.
        if (flush) {
          done_ = true;
          return produced;
        }
        if (in_pos_ < in_end_)
          return errors_.Fail(errors_.Corrupt(ConsumedOffset(), "decoder stopped before the input's end"),
                              produced);
        output_pending_ = false;
        continue;
      }
      output_pending_ = produced == n;
      if (produced == n) return produced;
      if (!progress) {
        if (flush) return errors_.Fail(errors_.Truncated(bytes_read_), produced);
        if (in_pos_ < in_end_) {
          return errors_.Fail(errors_.Corrupt(ConsumedOffset(), "decoder made no progress"), produced);
        }
        output_pending_ = false;
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

  // Compressed bytes handed to the decoder so far. Both libraries buffer
  // internally, so an error lies at or before this offset (for bzip2 within
  // the block being decoded: CRCs are checked at block ends).
  uint64_t ConsumedOffset() const { return bytes_read_ - (in_end_ - in_pos_); }

  std::unique_ptr<ByteStream> raw_;
  DecoderErrors errors_;
  typename Traits::Filter filter_;
  std::unique_ptr<char[]> in_;
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  uint64_t bytes_read_ = 0;
  bool raw_eof_ = false;
  bool output_pending_ = false;
  bool done_ = false;
};

template <typename Traits>
absl::StatusOr<std::unique_ptr<ByteStream>> MakeBoostDecoder(std::unique_ptr<ByteStream> raw,
                                                             std::string name) {
  // Opening the xz decoder allocates and can throw; nothing escapes as an
  // exception.
  try {
    return std::make_unique<BoostStream<Traits>>(std::move(raw), name);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name, ": cannot open the ", Traits::kFormat, " decoder: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ByteStream>> MakeBzip2Decoder(std::unique_ptr<ByteStream> raw,
                                                             std::string name) {
  return MakeBoostDecoder<Bzip2Traits>(std::move(raw), std::move(name));
}

absl::StatusOr<std::unique_ptr<ByteStream>> MakeXzDecoder(std::unique_ptr<ByteStream> raw,
                                                          std::string name) {
  return MakeBoostDecoder<XzTraits>(std::move(raw), std::move(name));
}

}  // namespace logtally::io
