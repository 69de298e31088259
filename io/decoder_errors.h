// How the decoders (gzip, zstd, bzip2 and xz) fail, written once: the
// messages that name the input, the format and the compressed byte offset,
// and the rule that output decoded before an error is returned first and the
// error comes with the next Read. Each decoder keeps one DecoderErrors; this
// file decodes nothing.
#ifndef LOGTALLY_IO_DECODER_ERRORS_H_
#define LOGTALLY_IO_DECODER_ERRORS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace logtally::io {

class DecoderErrors {
 public:
  // `name`: the input's display name; `format`: "gzip", "zstd", ...
  DecoderErrors(std::string name, absl::string_view format) : name_(std::move(name)), format_(format) {}

  const std::string& name() const { return name_; }
  // The first error met, or OK; once set, every later Read returns it.
  const absl::Status& status() const { return status_; }

  // The input ends inside compressed data (`offset`: the bytes read).
  absl::Status Truncated(uint64_t offset) const {
    return absl::DataLossError(absl::StrCat(name_, ": truncated ", format_,
                                            " data: input ends at compressed byte offset ", offset));
  }
  absl::Status Corrupt(uint64_t offset, absl::string_view detail) const {
    return absl::DataLossError(absl::StrCat(name_, ": corrupt ", format_,
                                            " data at compressed byte offset ", offset, ": ", detail));
  }

  // Records the error; output decoded before it is returned first and the
  // error comes with the next call.
  absl::StatusOr<size_t> Fail(absl::Status s, size_t produced) {
    status_ = std::move(s);
    if (produced > 0) return produced;
    return status_;
  }

 private:
  std::string name_;
  absl::string_view format_;  // a literal
  absl::Status status_;
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_DECODER_ERRORS_H_
