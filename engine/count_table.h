// Counting groups: thread-local hash tables split into partitions by the key
// hash's high bits (DuckDB's radix-partitioned aggregation), and the merge of
// one partition across threads (MergePartition). No threads are started here:
// the callers run one partition per task.
//
// One 64-bit hash does three jobs: its top kPartitionBits bits pick the
// partition, its low bits pick the slot, and the whole value is stored as a
// salt, so a probe compares key bytes only when the full hashes agree. Key
// bytes are copied once, into the owning thread's Arena, when a group is first
// seen; entries hold pointers into arenas, which stay alive until the results
// are written, so merging moves no key bytes.
#ifndef LOGTALLY_ENGINE_COUNT_TABLE_H_
#define LOGTALLY_ENGINE_COUNT_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "engine/arena.h"
#include "io/big_alloc.h"

namespace logtally::engine {

using io::BigAlloc;
using io::BigFree;

// Tuning constants, each with its reason.
// 64 partitions: enough tasks to keep every core busy in the combine step,
// with room for skew; few enough that a partition's table of a
// low-cardinality key stays tiny and a per-partition spill file is not too
// small.
inline constexpr int kPartitionBits = 6;
inline constexpr size_t kPartitions = size_t{1} << kPartitionBits;
// A new partition starts with 16 slots (512 bytes); most keys of a
// low-cardinality run never grow it.
inline constexpr size_t kInitialSlots = 16;
// Grow at 50% load: linear probing stays short (expected ~1.5 probes on a
// hit) and the salt makes misses cheap.
inline constexpr size_t kMaxLoadNumerator = 1, kMaxLoadDenominator = 2;
uint64_t HashBytes(const char* p, size_t n);

struct Entry {
  uint64_t hash = 0;
  uint64_t count = 0;
  const char* key = nullptr;  // nullptr marks an empty slot
  size_t len = 0;
  std::string_view view() const { return {key, len}; }
};

class HashTable {
 public:
  HashTable() = default;
  HashTable(HashTable&& o) noexcept
      : slots_(std::exchange(o.slots_, nullptr)), capacity_(std::exchange(o.capacity_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  HashTable& operator=(HashTable&& o) noexcept {
    if (this != &o) {
      Clear();
      slots_ = std::exchange(o.slots_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;
  ~HashTable() { Clear(); }
  // Adds `count` to the group `key` with hash `hash`; copies the key into
  // `arena` when the group is new (or stores `stable_key` when given: a key
  // that already lives in an arena).
  void Add(uint64_t hash, std::string_view key, uint64_t count, Arena* arena);
  void AddStable(const Entry& e);
  // Empties the table and makes room for `groups` groups without growing,
  // reusing its slots when there are enough.
  void Reuse(size_t groups);

  size_t size() const { return size_; }
  std::span<const Entry> slots() const { return {slots_, capacity_}; }
  void Clear() {
    if (slots_ != nullptr) BigFree(slots_, capacity_ * sizeof(Entry));
    slots_ = nullptr;
    capacity_ = 0;
    size_ = 0;
  }
  // Starts loading the slot `hash` probes first, so a later Add finds it in
  // cache (harmless if the table grows in between).
  void Prefetch(uint64_t hash) const {
    if (capacity_ != 0) __builtin_prefetch(&slots_[hash & (capacity_ - 1)]);
  }
  size_t memory_bytes() const { return capacity_ * sizeof(Entry); }

 private:
  Entry* Find(uint64_t hash, std::string_view key);
  void Grow();

  Entry* slots_ = nullptr;  // capacity_ entries, a power of two (or none)
  size_t capacity_ = 0;
  size_t size_ = 0;
};

// Keys waiting to be counted: hashing a batch and prefetching its slots
// before inserting hides most cache misses when the groups outgrow the cache.
// 16 keys: enough misses in flight to cover DRAM latency, small enough that
// the batch itself stays in L1.
class KeyBatch {
 public:
  static constexpr size_t kSize = 16;
  bool full() const { return n_ == kSize; }
  // Copies `key` in; returns its hash.
  uint64_t Push(std::string_view key);
  template <typename Fn>
  void Drain(Fn&& fn) {
    for (size_t i = 0; i < n_; ++i) fn(hash_[i], std::string_view(buf_.data() + off_[i], len_[i]));
    n_ = 0;
    used_ = 0;
  }

 private:
  std::string buf_;
  size_t used_ = 0;
  size_t n_ = 0;
  size_t off_[kSize];
  size_t len_[kSize];
  uint64_t hash_[kSize];
};

// One thread's tables, one per partition, and the arena for its keys.
class PartitionedTable {
 public:
  static size_t PartitionOf(uint64_t hash) { return hash >> (64 - kPartitionBits); }

  void Add(std::string_view key) {
    uint64_t h = HashBytes(key.data(), key.size());
    parts_[PartitionOf(h)].Add(h, key, 1, &arena_);
  }
  void AddHashed(uint64_t h, std::string_view key) { parts_[PartitionOf(h)].Add(h, key, 1, &arena_); }
  void Prefetch(uint64_t h) const { parts_[PartitionOf(h)].Prefetch(h); }
  HashTable& partition(size_t p) { return parts_[p]; }
  size_t groups() const;
  // Slots plus key bytes held, for the memory budget.
  size_t memory_bytes() const;
  // Drops every group and frees the memory (after a spill).
  void Clear();

 private:
  HashTable parts_[kPartitions];
  Arena arena_;
};

// Receives the groups of a finished partition (a tally keeps them,
// tally.h). Called from the combine phase, one task per partition, possibly
// several times for one partition when it was split to fit the memory
// budget; never for the same partition from two threads at once. The
// table's keys are valid only during the call.
class PartitionSaver {
 public:
  virtual ~PartitionSaver() = default;
  virtual void SavePartition(size_t p, const HashTable& t) = 0;
};

// The combine step for one partition: merges partition `p` of every table
// into one. The largest is taken over whole and the others are folded into
// it (with one thread, nothing is rehashed); key bytes stay where they are,
// in the tables' arenas, which must outlive the result. Leaves partition `p`
// of every table empty. Partitions are independent: one task each.
HashTable MergePartition(const std::vector<PartitionedTable*>& tables, size_t p);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_COUNT_TABLE_H_
