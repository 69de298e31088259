// A read-only memory mapping of a regular file, as it was when opened.
//
// The size is taken once at open, so a file that grows while it is read is
// read up to the size it had then. The mapping is advised sequential; pages
// already consumed can be released early (ReleaseBefore) so that scanning a
// file larger than memory does not grow the resident set. An empty file maps
// to an empty view (mmap of length 0 is an error on Linux).
//
// A mapped file that shrinks while it is read (truncated or rotated in place)
// raises SIGBUS on the next access past its new end. A handler (installed once
// by InstallTruncationHandler) names the file and exits with status 2: the
// result would be incomplete, and a crash would say nothing.
#ifndef LOGTALLY_IO_MAPPED_FILE_H_
#define LOGTALLY_IO_MAPPED_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace logtally::io {

// Installs the SIGBUS handler for shrunk mapped files (idempotent).
void InstallTruncationHandler();

class MappedFile {
 public:
  // Maps the already-open descriptor `fd` (not taken over) of `size` bytes.
  static absl::StatusOr<MappedFile> Map(int fd, size_t size, const std::string& name);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Valid while this object lives.
  std::string_view data() const { return {static_cast<const char*>(addr_), size_}; }

  // Tells the kernel the bytes of [from, to) will not be read again (whole
  // pages inside the range only). Returns the page-aligned end released.
  size_t Release(size_t from, size_t to) const;

  // Maps the pages of [offset, offset + len) in one system call, so the
  // parser does not take a page fault every few pages (costly in a VM).
  void Populate(size_t offset, size_t len) const;

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
  int slot_ = -1;  // in the SIGBUS registry, or -1
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_MAPPED_FILE_H_
