#include "io/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace logtally::io {
namespace {

// The registry of live mappings, read by the SIGBUS handler. Fixed size and
// atomics only, so the handler stays async-signal-safe; a mapping that finds
// no free slot is still read, just without a named message.
constexpr int kSlots = 256;
struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  char name[512] = {};
};
Slot g_slots[kSlots];

int Register(void* addr, size_t size, const std::string& name) {
  for (int i = 0; i < kSlots; ++i) {
    uintptr_t expected = 0;
    if (g_slots[i].begin.load() == 0 &&
        g_slots[i].begin.compare_exchange_strong(expected, 1)) {
      size_t n = std::min(name.size(), sizeof g_slots[i].name - 1);
      std::memcpy(g_slots[i].name, name.data(), n);
      g_slots[i].name[n] = 0;
      g_slots[i].end.store(reinterpret_cast<uintptr_t>(addr) + size);
      g_slots[i].begin.store(reinterpret_cast<uintptr_t>(addr));
      return i;
    }
  }
  return -1;
}

void Unregister(int slot) {
  if (slot < 0) return;
  g_slots[slot].end.store(0);
  g_slots[slot].begin.store(0);
}

void WriteAll(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void OnSigbus(int, siginfo_t* info, void*) {
  uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
  const char* name = nullptr;
  for (int i = 0; i < kSlots; ++i) {
    uintptr_t b = g_slots[i].begin.load();
    if (b > 1 && a >= b && a < g_slots[i].end.load()) name = g_slots[i].name;
  }
  WriteAll("logtally: ");
  WriteAll(name != nullptr ? name : "an input file");
  WriteAll(": the file shrank while it was being read (truncated or rotated in place); "
           "no results are printed because they would be incomplete\n");
  ::_exit(2);
}

}  // namespace

void InstallTruncationHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

absl::StatusOr<MappedFile> MappedFile::Map(int fd, size_t size, const std::string& name) {
  MappedFile m;
  if (size == 0) return m;
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) {
    return absl::InternalError(absl::StrCat(name, ": cannot map: ", std::strerror(errno)));
  }
  ::madvise(addr, size, MADV_SEQUENTIAL);
  m.addr_ = addr;
  m.size_ = size;
  m.slot_ = Register(addr, size, name);
  return m;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      slot_(std::exchange(other.slot_, -1)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    Unregister(slot_);
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  Unregister(slot_);
}

size_t MappedFile::Release(size_t from, size_t to) const {
  static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t begin = (from + kPage - 1) / kPage * kPage;
  size_t end = std::min(to, size_) / kPage * kPage;
  if (addr_ != nullptr && end > begin) {
    ::madvise(static_cast<char*>(addr_) + begin, end - begin, MADV_DONTNEED);
  }
  return std::max(end, from);
}

void MappedFile::Populate(size_t offset, size_t len) const {
#ifdef MADV_POPULATE_READ
  static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (addr_ == nullptr || offset >= size_) return;
  size_t begin = offset / kPage * kPage;
  size_t end = std::min(offset + len, size_);
  // Best effort: on kernels before 5.14 this fails and faults happen lazily.
  ::madvise(static_cast<char*>(addr_) + begin, end - begin, MADV_POPULATE_READ);
#endif
}

}  // namespace logtally::io
