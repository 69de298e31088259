#include "io/decode.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/boost_stream.h"
#include "io/gzip_stream.h"
#include "io/zstd_stream.h"

namespace logtally::io {

Format Sniff(std::string_view h) {
  auto starts = [&](std::string_view magic) { return h.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Format::kGzip;
  if (starts(std::string_view("\x28\xb5\x2f\xfd", 4))) return Format::kZstd;
  // "BZh" and a block size digit 1-9: a log line starting with "BZh" alone
  // stays plain text.
  if (starts("BZh") && h.size() >= 4 && h[3] >= '1' && h[3] <= '9') return Format::kBzip2;
  if (starts(std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6))) return Format::kXz;
  return Format::kPlain;
}

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kPlain: return "plain";
    case Format::kGzip: return "gzip";
    case Format::kZstd: return "zstd";
    case Format::kBzip2: return "bzip2";
    case Format::kXz: return "xz";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<ByteStream>> MakeDecoder(Format format,
                                                        std::unique_ptr<ByteStream> raw,
                                                        std::string name) {
  if (raw == nullptr) return absl::InvalidArgumentError(absl::StrCat(name, ": no input stream"));
  switch (format) {
    case Format::kPlain: return raw;
    case Format::kGzip: return MakeGzipDecoder(std::move(raw), std::move(name));
    case Format::kZstd: return MakeZstdDecoder(std::move(raw), std::move(name));
    case Format::kBzip2: return MakeBzip2Decoder(std::move(raw), std::move(name));
    case Format::kXz: return MakeXzDecoder(std::move(raw), std::move(name));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": unknown input format ", static_cast<int>(format)));
}

}  // namespace logtally::io
