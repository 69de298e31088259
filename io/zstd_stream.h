// zstd decoding with libzstd's streaming API.
//
// This file owns the zstd ByteStream: consecutive frames (`cat a.zst b.zst`,
// pzstd output) decode as one stream and skippable frames are passed over.
// Frame checksums are verified when present. Memory is bounded: the window
// is capped at 128 MiB, so a frame that asks for more (zstd --long=31) is an
// error rather than a huge allocation. Corrupt or truncated input is an error
// (absl::DataLossError) naming the input and the compressed byte offset (of
// the bad block, header or checksum); every block decoded before it is
// returned first, by earlier Read calls.
#ifndef LOGTALLY_IO_ZSTD_STREAM_H_
#define LOGTALLY_IO_ZSTD_STREAM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "io/byte_stream.h"

namespace logtally::io {

// Wraps `raw` (positioned at the first byte of a zstd file) in a decoder.
// `name` is the input's display name used in error messages.
absl::StatusOr<std::unique_ptr<ByteStream>> MakeZstdDecoder(std::unique_ptr<ByteStream> raw,
                                                            std::string name);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_ZSTD_STREAM_H_
