#include "io/chunker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace logtally::io {

// ---- SliceChunker -----------------------------------------------------------

SliceChunker::SliceChunker(std::string_view data, size_t chunk_size, MappedFile mapping)
    : mapping_(std::move(mapping)), data_(data), chunk_size_(std::max<size_t>(chunk_size, 1)) {}

absl::StatusOr<bool> SliceChunker::Next(Chunk& chunk) {
  if (pos_ >= data_.size()) return false;
  size_t end = pos_ + std::min(chunk_size_, data_.size() - pos_);
  if (end < data_.size()) {
    // Extend to the end of the line that straddles the cut.
    const void* nl = std::memchr(data_.data() + end - 1, '\n', data_.size() - (end - 1));
    end = nl == nullptr ? data_.size() : static_cast<const char*>(nl) - data_.data() + 1;
  }
  chunk.data = data_.substr(pos_, end - pos_);
  mapping_.Populate(pos_, end - pos_);
  if (in_flight_ > 0) {
    // The chunk handed out in_flight_ calls ago is done: drop its pages.
    if (ends_.size() < in_flight_) ends_.resize(in_flight_, 0);
    size_t slot = index_ % in_flight_;
    if (index_ >= in_flight_) released_ = mapping_.Release(released_, ends_[slot]);
    ends_[slot] = end;
  }
  chunk.offset = pos_;
  chunk.index = index_++;
  chunk.owned.reset();
  chunk.capacity = 0;
  pos_ = end;
  return true;
}

// ---- StreamChunker ----------------------------------------------------------

StreamChunker::StreamChunker(std::unique_ptr<ByteStream> stream, size_t chunk_size)
    : stream_(std::move(stream)), chunk_size_(std::max<size_t>(chunk_size, 1)) {}

BigBuffer StreamChunker::TakeBuffer(size_t capacity) {
  if (capacity == chunk_size_) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto buf = std::move(pool_.back());
      pool_.pop_back();
      return buf;
    }
  }
  return BigBuffer(capacity);
}

void StreamChunker::Recycle(Chunk& chunk) {
  if (chunk.owned.get() != nullptr && chunk.capacity == chunk_size_) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_.push_back(std::move(chunk.owned));
  }
  chunk.owned.reset();
}

absl::StatusOr<bool> StreamChunker::Next(Chunk& chunk) {
  if (!pending_.ok()) {
    absl::Status s = std::move(pending_);
    pending_ = absl::OkStatus();
    eof_ = true;
    return s;
  }
  if (eof_ && carry_.empty()) return false;

  // The buffer holds the carried-over partial line, then fresh bytes. It
  // doubles while it holds no newline, so a line of any length fits.
  size_t capacity = std::max(chunk_size_, carry_.size() + 1);
  if (capacity != chunk_size_) capacity = std::max(capacity, carry_.size() * 2);
  BigBuffer buf = TakeBuffer(capacity);
  size_t used = carry_.size();
  std::memcpy(buf.get(), carry_.data(), used);
  carry_.clear();
  size_t last_nl_end = 0;  // bytes up to and including the last '\n' seen
  size_t scanned = 0;      // bytes already searched for '\n'

  while (!eof_) {
    if (used == capacity) {
      if (last_nl_end > 0) break;  // a full buffer with whole lines: hand it out
      size_t grown = capacity * 2;
      BigBuffer bigger(grown);
      std::memcpy(bigger.get(), buf.get(), used);
      if (capacity == chunk_size_) {
        std::lock_guard<std::mutex> lock(pool_mu_);
        pool_.push_back(std::move(buf));
      }
      buf = std::move(bigger);
      capacity = grown;
    }
    absl::StatusOr<size_t> got = stream_->Read(buf.get() + used, capacity - used);
    if (!got.ok()) {
      pending_ = got.status();
      eof_ = true;
      break;
    }
    if (*got == 0) {
      eof_ = true;
      break;
    }
    used += *got;
    // Find the last newline among the new bytes.
    for (size_t i = used; i > scanned; --i) {
      if (buf.get()[i - 1] == '\n') {
        last_nl_end = i;
        break;
      }
    }
    scanned = used;
  }

  size_t take = used;
  if (!eof_ || !pending_.ok()) {
    // Keep the partial last line for the next buffer; after an error it can
    // never be completed, so it is dropped and reported.
    take = last_nl_end;
    if (!pending_.ok()) {
      dropped_ = used - take;
    } else {
      carry_.assign(buf.get() + take, used - take);
    }
  }
  if (take == 0) {
    if (capacity == chunk_size_) {
      std::lock_guard<std::mutex> lock(pool_mu_);
      pool_.push_back(std::move(buf));
    }
    if (!pending_.ok()) return Next(chunk);
    return false;
  }
  chunk.data = std::string_view(buf.get(), take);
  chunk.offset = offset_;
  chunk.index = index_++;
  chunk.owned = std::move(buf);
  chunk.capacity = capacity;
  offset_ += take;
  return true;
}

// ---- OpenInput --------------------------------------------------------------

absl::StatusOr<OpenedInput> OpenInput(const InputSpec& spec, size_t chunk_size, bool map_plain,
                                      bool plain_blocks, size_t stream_chunk_size) {
  OpenedInput in;
  int fd = 0;
  bool owns = false;
  if (spec.path != "-") {
    fd = ::open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(absl::StrCat(spec.display, ": cannot open: ", std::strerror(errno)));
    }
    owns = true;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    if (owns) ::close(fd);
    return absl::InternalError(absl::StrCat(spec.display, ": cannot stat: ", std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) {
    if (owns) ::close(fd);
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
    off_t cur = ::lseek(fd, 0, SEEK_CUR);
    start = cur > 0 ? static_cast<uint64_t>(cur) : 0;
    ssize_t got = ::pread(fd, head, sizeof head, static_cast<off_t>(start));
    head_len = got > 0 ? static_cast<size_t>(got) : 0;
  } else {
    while (head_len < sizeof head) {
      ssize_t got = ::read(fd, head + head_len, sizeof head - head_len);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      head_len += static_cast<size_t>(got);
    }
  }
  in.format = Sniff(std::string_view(head, head_len));
  if (regular) in.mtime = static_cast<int64_t>(st.st_mtime);

  if (regular && in.format == Format::kPlain && map_plain && start == 0) {
    size_t size = static_cast<size_t>(st.st_size);
    absl::StatusOr<MappedFile> m = MappedFile::Map(fd, size, spec.display);
    if (owns) ::close(fd);
    if (!m.ok()) return m.status();
    std::string_view view = m->data();
    in.chunker = std::make_unique<SliceChunker>(view, chunk_size, std::move(*m));
    in.raw_size = size;
    in.mapped = true;
    return in;
  }

  if (regular && in.format == Format::kPlain && plain_blocks && st.st_size > 0) {
    uint64_t size = static_cast<uint64_t>(st.st_size);
    in.raw_size = size > start ? size - start : 0;
    in.blocks = std::make_unique<PlainBlocks>(fd, owns, spec.display, start, in.raw_size, chunk_size);
    return in;
  }

  std::unique_ptr<FdStream> raw;
  if (regular && st.st_size > 0) {
    // A snapshot of the size at open, as a mapping would be: a file that
    // grows is read up to that size, one that shrinks is an error. (Files
    // that report size 0, as /proc's do, are read to their end.)
    uint64_t size = static_cast<uint64_t>(st.st_size);
    in.raw_size = size > start ? size - start : 0;
    raw = FdStream::Snapshot(fd, owns, spec.display, in.raw_size);
  } else {
    std::string prefix = regular ? std::string() : std::string(head, head_len);
    raw = std::make_unique<FdStream>(fd, owns, spec.display, std::move(prefix));
  }
  absl::StatusOr<std::unique_ptr<ByteStream>> dec =
      MakeDecoder(in.format, std::move(raw), spec.display);
  if (!dec.ok()) return dec.status();
  in.chunker = std::make_unique<StreamChunker>(
      std::move(*dec), stream_chunk_size > 0 ? stream_chunk_size : chunk_size);
  return in;
}

}  // namespace logtally::io
