// Zeroed memory for count tables, key arenas and row arrays, backed by 2 MiB
// huge pages.
//
// In a VM every page fault is expensive (tens of microseconds when the guest
// page is fresh), and a table that grows by doubling touches fresh memory at
// every step. So all of it comes from 2 MiB-aligned anonymous mappings advised
// MADV_HUGEPAGE, one fault per 2 MiB:
// - requests under 2 MiB are power-of-two blocks (512 B up) cut from 2 MiB
//   chunks by a buddy allocator; a freed block merges with its free buddy, so
//   a chunk whose blocks are all free is whole again, and the memory a table
//   gave up when it grew serves the next table that grows;
// - requests of 2 MiB and more are mappings of their own, rounded up to
//   2 MiB, returned to the kernel when freed.
// A few whole free chunks are kept for reuse; the rest go back to the kernel,
// so freeing everything (a spill) brings the process's memory back down.
#ifndef LOGTALLY_IO_BIG_ALLOC_H_
#define LOGTALLY_IO_BIG_ALLOC_H_

#include <cstddef>
#include <new>
#include <type_traits>

namespace logtally::io {

// Zeroed memory of at least `bytes` bytes; throws std::bad_alloc when the
// kernel refuses. Thread-safe.
void* BigAlloc(size_t bytes);
// Frees memory from BigAlloc; `bytes` must be the size it was asked for.
void BigFree(void* p, size_t bytes);

// For tests: bytes held from the kernel (chunks and large mappings), and
// blocks currently handed out.
struct BigAllocStats {
  size_t mapped_bytes = 0;
  size_t live_blocks = 0;
};
BigAllocStats GetBigAllocStats();

// A std::allocator for BigAlloc memory that does not initialise new
// elements of a trivially copyable type: resize() leaves them as the bytes
// already there (zero when the memory is fresh, old rows when a vector's
// memory is reused), and the caller writes every one. A vector of a million
// rows is then written once, by the threads that fill it, not first by
// resize() on one thread.
template <typename T>
struct UninitBigAllocator {
  using value_type = T;
  UninitBigAllocator() = default;
  template <typename U>
  UninitBigAllocator(const UninitBigAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(BigAlloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { BigFree(p, n * sizeof(T)); }
  template <typename U>
  void construct(U* p) noexcept {
    if constexpr (!(std::is_trivially_copyable_v<U> && std::is_trivially_destructible_v<U>)) {
      ::new (static_cast<void*>(p)) U();
    }
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }
  template <typename U>
  bool operator==(const UninitBigAllocator<U>&) const noexcept {
    return true;
  }
};

// An owned block of BigAlloc memory (zeroed when allocated), move-only.
class BigBuffer {
 public:
  BigBuffer() = default;
  explicit BigBuffer(size_t bytes)
      : p_(static_cast<char*>(BigAlloc(bytes < 1 ? 1 : bytes))), n_(bytes < 1 ? 1 : bytes) {}
  BigBuffer(BigBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  BigBuffer& operator=(BigBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  BigBuffer(const BigBuffer&) = delete;
  BigBuffer& operator=(const BigBuffer&) = delete;
  ~BigBuffer() { reset(); }
  void reset() {
    if (p_ != nullptr) BigFree(p_, n_);
    p_ = nullptr;
    n_ = 0;
  }
  char* get() const { return p_; }
  size_t size() const { return n_; }
  // Room for `bytes`: keeps the block when it is large enough (its bytes
  // are then whatever was there), else a new zeroed one.
  void Ensure(size_t bytes) {
    if (p_ == nullptr || bytes > n_) *this = BigBuffer(bytes);
  }

 private:
  char* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace logtally::io

#endif  // LOGTALLY_IO_BIG_ALLOC_H_
