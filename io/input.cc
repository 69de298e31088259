#include "io/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "io/byte_stream.h"
#include "io/decode.h"
#include "io/mapped_file.h"

namespace logtally::io {

namespace {

// A descriptor to read an input from: standard input (borrowed, never
// closed) or a file we opened (closed when this goes away, unless handed
// over with Release).
class InputFd {
 public:
  InputFd(int fd, bool owns) : fd_(fd), owns_(owns) {}
  ~InputFd() {
    if (owns_) ::close(fd_);
  }
  InputFd(const InputFd&) = delete;
  InputFd& operator=(const InputFd&) = delete;
  int get() const { return fd_; }
  bool owns() const { return owns_; }
  // Hands the descriptor over: the receiver closes it when owns() was true.
  int Release() {
    owns_ = false;
    return fd_;
  }

 private:
  int fd_;
  bool owns_;
};

}  // namespace

absl::StatusOr<OpenedInput> OpenInput(const InputSpec& spec, const OpenOptions& opt) {
  OpenedInput in;
  const bool is_stdin = spec.path == "-";
  const int opened = is_stdin ? 0 : ::open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (opened < 0) {
    return absl::NotFoundError(absl::StrCat(spec.display, ": cannot open: ", std::strerror(errno)));
  }
  InputFd fd(opened, /*owns=*/!is_stdin);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return absl::InternalError(absl::StrCat(spec.display, ": cannot stat: ", std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(spec.display, ": is a directory"));
  }

  // Sniff the first bytes. A regular file is read with pread so nothing is
  // consumed (from the current position: standard input may be a file that
  // something before us has partly read); a pipe's bytes are kept and
  // replayed by FdStream.
  char head[kSniffBytes];
  size_t head_len = 0;
  bool regular = S_ISREG(st.st_mode);
  uint64_t start = 0;
  if (regular) {
    off_t cur = ::lseek(fd.get(), 0, SEEK_CUR);
    start = cur > 0 ? static_cast<uint64_t>(cur) : 0;
    ssize_t got = ::pread(fd.get(), head, sizeof head, static_cast<off_t>(start));
    head_len = got > 0 ? static_cast<size_t>(got) : 0;
  } else {
    while (head_len < sizeof head) {
      ssize_t got = ::read(fd.get(), head + head_len, sizeof head - head_len);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      head_len += static_cast<size_t>(got);
    }
  }
  in.format = Sniff(std::string_view(head, head_len));
  if (regular) in.mtime = static_cast<int64_t>(st.st_mtime);

  if (regular && in.format == Format::kPlain && opt.map_plain && start == 0) {
    size_t size = static_cast<size_t>(st.st_size);
    // The mapping outlives the descriptor, which closes on return.
    absl::StatusOr<MappedFile> m = MappedFile::Map(fd.get(), size, spec.display);
    if (!m.ok()) return m.status();
    std::string_view view = m->data();
    in.chunker = std::make_unique<SliceChunker>(view, opt.chunk_size, std::move(*m));
    in.raw_size = size;
    in.mapped = true;
    return in;
  }

  // From here on the descriptor is handed over, with its ownership.
  const bool owns = fd.owns();
  if (regular && in.format == Format::kPlain && opt.plain_blocks && st.st_size > 0) {
    uint64_t size = static_cast<uint64_t>(st.st_size);
    in.raw_size = size > start ? size - start : 0;
    in.blocks = std::make_unique<PlainBlocks>(fd.Release(), owns, spec.display, start, in.raw_size,
                                              opt.chunk_size);
    return in;
  }

  std::unique_ptr<FdStream> raw;
  if (regular && st.st_size > 0) {
    // A snapshot of the size at open, as a mapping would be: a file that
    // grows is read up to that size, one that shrinks is an error. (Files
    // that report size 0, as /proc's do, are read to their end.)
    uint64_t size = static_cast<uint64_t>(st.st_size);
    in.raw_size = size > start ? size - start : 0;
    raw = FdStream::Snapshot(fd.Release(), owns, spec.display, in.raw_size);
  } else {
    std::string prefix = regular ? std::string() : std::string(head, head_len);
    raw = std::make_unique<FdStream>(fd.Release(), owns, spec.display, std::move(prefix));
  }
  absl::StatusOr<std::unique_ptr<ByteStream>> dec =
      MakeDecoder(in.format, std::move(raw), spec.display);
  if (!dec.ok()) return dec.status();
  in.chunker = std::make_unique<StreamChunker>(
      std::move(*dec), opt.stream_chunk_size > 0 ? opt.stream_chunk_size : opt.chunk_size);
  return in;
}

std::string ReadUpTo(int fd, uint64_t off, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

}  // namespace logtally::io
