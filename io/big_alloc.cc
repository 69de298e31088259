#include "io/big_alloc.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace logtally::io {
namespace {

constexpr size_t kChunk = size_t{2} << 20;  // one huge page
constexpr int kMinShift = 9;                 // 512-byte blocks at the least
constexpr size_t kUnit = size_t{1} << kMinShift;
constexpr int kChunkOrder = 12;              // 512 B << 12 = 2 MiB
constexpr size_t kUnitsPerChunk = kChunk / kUnit;
// Whole free chunks kept for the next request instead of being unmapped:
// enough for a burst of small tables, little against any memory budget.
constexpr size_t kSpareChunks = 4;

static_assert((kUnit << kChunkOrder) == kChunk);

// A 2 MiB-aligned anonymous mapping of `bytes` (a multiple of kChunk),
// advised to use huge pages.
void* MapAligned(size_t bytes) {
  void* raw = ::mmap(nullptr, bytes + kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kChunk - 1) & ~(kChunk - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  uintptr_t end = start + bytes + kChunk;
  if (end > aligned + bytes) ::munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, bytes, MADV_HUGEPAGE);  // a kernel without THP says no; that is fine
  return p;
}

struct FreeNode {
  FreeNode* prev;
  FreeNode* next;
};

struct Chunk {
  char* base;
  // For each 512-byte unit: 0, or 1 + the order of the free block that starts
  // there.
  uint8_t free_head[kUnitsPerChunk];
};

int OrderFor(size_t bytes) {
  int order = 0;
  while ((kUnit << order) < bytes) ++order;
  return order;
}

class Pool {
 public:
  void* Alloc(size_t bytes) {
    const int order = OrderFor(bytes);
    char* block;
    std::unique_ptr<Chunk> fresh;  // mapped and faulted in outside the lock
    bool zeroed = false;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      int k = order;
      while (k <= kChunkOrder && lists_[k] == nullptr) ++k;
      if (k > kChunkOrder && fresh == nullptr) {
        // The kernel's work for a new chunk (mapping it, then zeroing its
        // huge page on the first touch) is most of a millisecond in a VM:
        // done under the lock, it stalled every other thread's allocations
        // and frees, and the tail of a run (rows, display text, freed
        // tables) is made of those.
        lock.unlock();
        fresh = NewChunk();
        continue;
      }
      Chunk* c;
      if (k > kChunkOrder) {
        // A fresh chunk is zero from the kernel, and splitting it writes
        // free-list nodes only into the halves given back, never into the
        // block returned: it needs no memset.
        zeroed = true;
        c = AddChunk(std::move(fresh));
        block = c->base;
        k = kChunkOrder;
      } else {
        block = reinterpret_cast<char*>(lists_[k]);
        c = ChunkOf(block);
        Unlink(c, block, k);
      }
      // Split down to the order asked for; each upper half goes free.
      while (k > order) {
        --k;
        Push(c, block + (kUnit << k), k);
      }
      ++live_;
      break;
    }
    if (fresh != nullptr) ReleaseUnused(std::move(fresh));  // another thread freed a block meanwhile
    if (!zeroed) std::memset(block, 0, kUnit << order);
    return block;
  }

  void Free(void* p, size_t bytes) {
    int order = OrderFor(bytes);
    char* block = static_cast<char*>(p);
    std::lock_guard<std::mutex> lock(mu_);
    --live_;
    Chunk* c = ChunkOf(block);
    size_t unit = static_cast<size_t>(block - c->base) / kUnit;
    while (order < kChunkOrder) {
      size_t buddy = unit ^ (size_t{1} << order);
      if (c->free_head[buddy] != order + 1) break;
      Unlink(c, c->base + buddy * kUnit, order);
      unit &= ~(size_t{1} << order);
      ++order;
    }
    if (order == kChunkOrder && spare_ >= kSpareChunks) {
      ReleaseChunk(c);
      return;
    }
    Push(c, c->base + unit * kUnit, order);
  }

  BigAllocStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return BigAllocStats{chunks_.size() * kChunk, live_};
  }

  void AddLarge(ptrdiff_t bytes, ptrdiff_t blocks) {
    std::lock_guard<std::mutex> lock(mu_);
    large_bytes_ = static_cast<size_t>(static_cast<ptrdiff_t>(large_bytes_) + bytes);
    live_ = static_cast<size_t>(static_cast<ptrdiff_t>(live_) + blocks);
  }
  size_t large_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return large_bytes_;
  }

 private:
  // A mapped chunk, its huge page already faulted in; not yet in the pool.
  static std::unique_ptr<Chunk> NewChunk() {
    auto owned = std::make_unique<Chunk>();
    owned->base = static_cast<char*>(MapAligned(kChunk));
    owned->base[0] = 0;  // the first touch: the kernel zeroes the page now
    std::memset(owned->free_head, 0, sizeof(owned->free_head));
    return owned;
  }
  Chunk* AddChunk(std::unique_ptr<Chunk> owned) {
    Chunk* c = owned.get();
    chunks_.emplace(reinterpret_cast<uintptr_t>(c->base), std::move(owned));
    return c;
  }
  static void ReleaseUnused(std::unique_ptr<Chunk> owned) { ::munmap(owned->base, kChunk); }

  void ReleaseChunk(Chunk* c) {
    ::munmap(c->base, kChunk);
    chunks_.erase(reinterpret_cast<uintptr_t>(c->base));
  }

  Chunk* ChunkOf(const char* p) {
    return chunks_.find(reinterpret_cast<uintptr_t>(p) & ~(kChunk - 1))->second.get();
  }

  void Push(Chunk* c, char* block, int order) {
    auto* n = reinterpret_cast<FreeNode*>(block);
    n->prev = nullptr;
    n->next = lists_[order];
    if (n->next != nullptr) n->next->prev = n;
    lists_[order] = n;
    c->free_head[static_cast<size_t>(block - c->base) / kUnit] = static_cast<uint8_t>(order + 1);
    if (order == kChunkOrder) ++spare_;
  }

  void Unlink(Chunk* c, char* block, int order) {
    auto* n = reinterpret_cast<FreeNode*>(block);
    if (n->prev != nullptr) n->prev->next = n->next; else lists_[order] = n->next;
    if (n->next != nullptr) n->next->prev = n->prev;
    c->free_head[static_cast<size_t>(block - c->base) / kUnit] = 0;
    if (order == kChunkOrder) --spare_;
  }

  std::mutex mu_;
  FreeNode* lists_[kChunkOrder + 1] = {};
  absl::flat_hash_map<uintptr_t, std::unique_ptr<Chunk>> chunks_;
  size_t spare_ = 0;
  size_t live_ = 0;
  size_t large_bytes_ = 0;
};

Pool& ThePool() {
  // Never destroyed: memory may still be freed by static destructors.
  static Pool* pool = new Pool;
  return *pool;
}

size_t LargeSize(size_t bytes) { return (bytes + kChunk - 1) & ~(kChunk - 1); }

}  // namespace

void* BigAlloc(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < kChunk) return ThePool().Alloc(bytes);
  void* p = MapAligned(LargeSize(bytes));  // zero from the kernel
  ThePool().AddLarge(static_cast<ptrdiff_t>(LargeSize(bytes)), 1);
  return p;
}

void BigFree(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes == 0) bytes = 1;
  if (bytes < kChunk) {
    ThePool().Free(p, bytes);
    return;
  }
  ::munmap(p, LargeSize(bytes));
  ThePool().AddLarge(-static_cast<ptrdiff_t>(LargeSize(bytes)), -1);
}

BigAllocStats GetBigAllocStats() {
  BigAllocStats s = ThePool().Stats();
  s.mapped_bytes += ThePool().large_bytes();
  return s;
}

}  // namespace logtally::io
