#include "engine/spill.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace logtally::engine {

absl::StatusOr<std::unique_ptr<TempFile>> TempFile::Create(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A file system without O_TMPFILE: create, then unlink at once.
    std::string tmpl = absl::StrCat(dir, "/logtally-spill-XXXXXX");
    fd = ::mkstemp(tmpl.data());
    if (fd >= 0) ::unlink(tmpl.c_str());
  }
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create a temporary file in ", dir, ": ", std::strerror(errno),
        " (choose another directory with --temp-dir, or a larger --memory)"));
  }
  return std::unique_ptr<TempFile>(new TempFile(fd, dir));
}

TempFile::~TempFile() { ::close(fd_); }

absl::Status TempFile::Append(std::string_view bytes) {
  if (bytes.empty()) return absl::OkStatus();
  struct iovec one = {const_cast<char*>(bytes.data()), bytes.size()};
  return AppendV(&one, 1);
}

absl::Status TempFile::AppendV(struct iovec* iov, int count) {
  while (count > 0) {
    ssize_t n = ::pwritev(fd_, iov, count, static_cast<off_t>(size_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot write temporary data to ", dir_, ": ", std::strerror(errno), " after ", size_,
          " bytes (free space there, choose another directory with --temp-dir, or give a larger "
          "--memory)"));
    }
    size_ += static_cast<uint64_t>(n);
    // A short write: skip what went out and go on with the rest.
    size_t done = static_cast<size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return absl::OkStatus();
}

void TempFile::Discard(uint64_t offset) const {
  constexpr uint64_t kStep = uint64_t{1} << 20;
  const uint64_t upto = offset & ~(kStep - 1);
  if (upto <= discarded_ + kStep) return;  // a MiB or two at a time is not worth a call
  if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(discarded_),
                  static_cast<off_t>(upto - discarded_)) == 0) {
    discarded_ = upto;
  } else {
    discarded_ = ~uint64_t{0} - kStep;  // not supported here: stop trying
  }
}

GatherWriter::GatherWriter()
    : scratch_(new char[kScratch]), iov_(new struct iovec[kMaxIov]) {}

void GatherWriter::Copy(const char* p, size_t n) {
  if (n == 0) return;
  char* dst = scratch_.get() + used_;
  std::memcpy(dst, p, n);
  if (n_ > 0 && static_cast<char*>(iov_[n_ - 1].iov_base) + iov_[n_ - 1].iov_len == dst) {
    iov_[n_ - 1].iov_len += n;  // continues the last copied piece
  } else {
    iov_[n_++] = iovec{dst, n};
  }
  used_ += n;
  bytes_ += n;
}

void GatherWriter::Varint(uint64_t v) {
  char b[kMaxVarint];
  Copy(b, EncodeVarint(v, b));
}

void GatherWriter::Ref(std::string_view s) {
  if (s.size() < kCopyBelow) return Copy(s.data(), s.size());
  iov_[n_++] = iovec{const_cast<char*>(s.data()), s.size()};
  bytes_ += s.size();
}

absl::Status GatherWriter::FlushTo(TempFile& f) {
  f.AddRecords(records_);
  absl::Status s = f.AppendV(iov_.get(), static_cast<int>(n_));
  Clear();
  return s;
}

absl::StatusOr<size_t> TempFile::ReadAt(uint64_t offset, char* buf, size_t n) const {
  for (;;) {
    ssize_t got = ::pread(fd_, buf, n, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    return absl::DataLossError(
        absl::StrCat("cannot read temporary data in ", dir_, ": ", std::strerror(errno)));
  }
}

absl::StatusOr<size_t> TempReader::Fill(size_t n) {
  if (len_ - pos_ >= n) return len_ - pos_;
  const size_t tail = len_ - pos_;
  file_->Discard(offset_ - tail);  // everything before the unread tail is used
  // Room for n bytes after the page offset chosen below (a record larger
  // than the buffer grows it).
  if (buf_.size() < n + kPageSize) buf_.resize(n + kPageSize);
  // The unread tail moves to where the next read lands at the page offset of
  // its file offset: the kernel copies page-cache pages fastest when the two
  // agree modulo the page size (docs/performance.md, "The read path").
  const size_t at = static_cast<size_t>(
      (offset_ - tail - reinterpret_cast<uintptr_t>(buf_.data())) % kPageSize);
  std::memmove(buf_.data() + at, buf_.data() + pos_, tail);
  pos_ = at;
  len_ = at + tail;
  while (len_ - pos_ < n && offset_ < file_->size()) {
    absl::StatusOr<size_t> got = file_->ReadAt(offset_, buf_.data() + len_, buf_.size() - len_);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    len_ += *got;
    offset_ += *got;
  }
  return len_ - pos_;
}

absl::StatusOr<bool> SpillRecordReader::Next(std::string_view* key, uint64_t* count) {
  // A record header is at most 10 bytes of varint.
  absl::StatusOr<size_t> avail = reader_.Fill(10);
  if (!avail.ok()) return avail.status();
  if (*avail == 0) return false;
  uint64_t len = 0;
  size_t used = ParseVarint(reader_.data(), *avail, &len);
  if (used == 0) return absl::DataLossError("corrupt temporary spill data (key length)");
  avail = reader_.Fill(used + len + 10);
  if (!avail.ok()) return avail.status();
  if (*avail < used + len + 1) return absl::DataLossError("corrupt temporary spill data (short)");
  const char* p = reader_.data();
  key_.assign(p + used, len);
  size_t cused = ParseVarint(p + used + len, *avail - used - len, count);
  if (cused == 0) return absl::DataLossError("corrupt temporary spill data (count)");
  reader_.Consume(used + len + cused);
  *key = key_;
  return true;
}

SpillStore::SpillStore(std::string dir, size_t partitions)
    : dir_(std::move(dir)), files_(partitions), mus_(new std::mutex[partitions]) {}

absl::Status SpillStore::Append(size_t partition, GatherWriter& w) {
  std::lock_guard<std::mutex> lock(mus_[partition]);
  if (files_[partition] == nullptr) {
    absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(dir_);
    if (!f.ok()) {
      w.Clear();
      return f.status();
    }
    files_[partition] = std::move(*f);
  }
  written_ += w.bytes();
  return w.FlushTo(*files_[partition]);
}

absl::Status SpillStore::AppendBytes(size_t partition, std::string_view bytes, uint64_t records) {
  std::lock_guard<std::mutex> lock(mus_[partition]);
  if (files_[partition] == nullptr) {
    absl::StatusOr<std::unique_ptr<TempFile>> f = TempFile::Create(dir_);
    if (!f.ok()) return f.status();
    files_[partition] = std::move(*f);
  }
  written_ += bytes.size();
  files_[partition]->AddRecords(records);
  return files_[partition]->Append(bytes);
}

}  // namespace logtally::engine
