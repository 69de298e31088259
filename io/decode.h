// Content sniffing and decompressing streams.
//
// Input formats are recognised by their magic bytes, never by file name:
// gzip (1f 8b), zstd (28 b5 2f fd), bzip2 ("BZh"), xz (fd 37 7a 58 5a 00);
// anything else is plain text. Decoders are ByteStreams stacked on the raw
// stream; multi-member gzip and multi-frame zstd decode as one stream.
// A decoding error returns a status whose message names the input and the
// compressed byte offset ("<name>: corrupt gzip data at compressed byte
// offset N: <detail>"); a truncated archive is an error too, never a silent
// end of stream.
#ifndef LOGTALLY_IO_DECODE_H_
#define LOGTALLY_IO_DECODE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "io/byte_stream.h"

namespace logtally::io {

enum class Format { kPlain, kGzip, kZstd, kBzip2, kXz };

// Bytes needed to recognise every format.
inline constexpr size_t kSniffBytes = 6;

// Classifies the first bytes of an input (fewer than kSniffBytes is fine).
Format Sniff(std::string_view head);

std::string_view FormatName(Format f);

// Wraps `raw` in a decoder for `format` (kPlain returns `raw` unchanged).
// `name` is the input's display name used in error messages.
absl::StatusOr<std::unique_ptr<ByteStream>> MakeDecoder(Format format,
                                                        std::unique_ptr<ByteStream> raw,
                                                        std::string name);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_DECODE_H_
