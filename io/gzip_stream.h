// gzip decoding with ISA-L's streaming inflate.
//
// This file owns the gzip ByteStream: it turns the raw bytes of a .gz file into
// the text they hold, at ISA-L speed, decoding straight into the caller's
// buffer. Every member of a multi-member file (`cat a.gz b.gz`, pigz, bgzip)
// is decoded in turn and each member's CRC32 and ISIZE are verified. Bytes
// after a member that do not start another member (trailing zeros included),
// a member cut short and any corrupt deflate data are errors
// (absl::DataLossError) naming the input and the compressed byte offset. The
// output decoded before an error is returned first, by earlier Read calls,
// with two ISA-L limits: at a bad back-reference up to 258 bytes before it
// are dropped (ISA-L's fast path leaves junk there), and at a cut the last
// symbols that need more lookahead bits than remain are not decoded.
// Memory: a 256 KiB input buffer and ISA-L's ~85 KB state.
#ifndef LOGTALLY_IO_GZIP_STREAM_H_
#define LOGTALLY_IO_GZIP_STREAM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "io/byte_stream.h"

namespace logtally::io {

// Wraps `raw` (positioned at the first byte of a gzip file) in a decoder.
// `name` is the input's display name used in error messages.
absl::StatusOr<std::unique_ptr<ByteStream>> MakeGzipDecoder(std::unique_ptr<ByteStream> raw,
                                                            std::string name);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_GZIP_STREAM_H_
