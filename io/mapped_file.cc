#include "io/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace logtally::io {

absl::StatusOr<MappedFile> MappedFile::Map(int fd, size_t size, const std::string& name) {
  MappedFile m;
  if (size == 0) return m;
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (addr == MAP_FAILED) {
    return absl::InternalError(absl::StrCat(name, ": cannot map: ", std::strerror(errno)));
  }
  ::madvise(addr, size, MADV_SEQUENTIAL);
  m.addr_ = addr;
  m.size_ = size;
  return m;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

void MappedFile::ReleaseBefore(size_t offset) const {
  static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t end = std::min(offset, size_) / kPage * kPage;
  if (addr_ != nullptr && end > 0) ::madvise(addr_, end, MADV_DONTNEED);
}

}  // namespace logtally::io
