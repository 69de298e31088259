// bzip2 and xz decoding with Boost.Iostreams' filters.
//
// This file owns the bzip2 and xz ByteStreams. Both drive the decompressor
// inside boost::iostreams' bzip2_decompressor / lzma_decompressor directly,
// one call per buffer, so that the output is written straight into the
// caller's buffer, the compressed offset is exact, and the output decoded
// before an error is never lost inside the filter. Concatenated streams
// (`cat a.bz2 b.bz2`, pbzip2, `cat a.xz b.xz`, xz stream padding) decode as
// one. Checksums (bzip2 block and stream CRCs, xz check) are verified.
// Memory is bounded: bzip2 needs ~4 MB for a 900 kB block; Boost opens the xz
// decoder with a 100 MiB memory limit (`xz -9` needs 65 MiB). Corrupt or
// truncated input is an error (absl::DataLossError) naming the input and the
// compressed byte offset, after the output decoded before it. Neither format
// can vouch for data before its check: a bad bzip2 block or xz block may
// yield some garbage before the error, and how much depends on read sizes
// (libbzip2 does not report output from the call that finds a block corrupt).
#ifndef LOGTALLY_IO_BOOST_STREAM_H_
#define LOGTALLY_IO_BOOST_STREAM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "io/byte_stream.h"

namespace logtally::io {

// Wrap `raw` (positioned at the first byte of a .bz2 / .xz file) in a
// decoder. `name` is the input's display name used in error messages.
absl::StatusOr<std::unique_ptr<ByteStream>> MakeBzip2Decoder(std::unique_ptr<ByteStream> raw,
                                                             std::string name);
absl::StatusOr<std::unique_ptr<ByteStream>> MakeXzDecoder(std::unique_ptr<ByteStream> raw,
                                                          std::string name);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_BOOST_STREAM_H_
