// Counting groups: thread-local hash tables split into partitions by the key
// hash's high bits (DuckDB's radix-partitioned aggregation), and the merge of
// one partition across threads.
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
#include <memory>
#include <string_view>
#include <vector>

namespace logtally::engine {

// Tuning constants, each with its reason.
// 64 partitions: enough to keep both cores busy in the merge with room for
// skew, few enough that a partition's table of a low-cardinality key stays
// tiny and a per-partition spill file (later) is not too small.
inline constexpr int kPartitionBits = 6;
inline constexpr size_t kPartitions = size_t{1} << kPartitionBits;
// A new partition starts with 16 slots (512 bytes); most keys of a
// low-cardinality run never grow it.
inline constexpr size_t kInitialSlots = 16;
// Grow at 50% load: linear probing stays short (expected ~1.5 probes on a
// hit) and the salt makes misses cheap.
inline constexpr size_t kMaxLoadNumerator = 1, kMaxLoadDenominator = 2;
// Arena blocks of 1 MiB: large enough that allocation is a pointer bump,
// small enough not to waste memory for a handful of groups.
inline constexpr size_t kArenaBlock = size_t{1} << 20;

uint64_t HashBytes(const char* p, size_t n);

class Arena {
 public:
  const char* Copy(std::string_view s);
  size_t bytes_used() const { return used_total_; }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cur_ = nullptr;
  size_t left_ = 0;
  size_t used_total_ = 0;
};

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
  // Adds `count` to the group `key` with hash `hash`; copies the key into
  // `arena` when the group is new (or stores `stable_key` when given: a key
  // that already lives in an arena).
  void Add(uint64_t hash, std::string_view key, uint64_t count, Arena* arena);
  void AddStable(const Entry& e);

  size_t size() const { return size_; }
  const std::vector<Entry>& slots() const { return slots_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Entry); }

 private:
  Entry* Find(uint64_t hash, std::string_view key);
  void Grow();

  std::vector<Entry> slots_;
  size_t size_ = 0;
};

// One thread's tables, one per partition, and the arena for its keys.
class PartitionedTable {
 public:
  static size_t PartitionOf(uint64_t hash) { return hash >> (64 - kPartitionBits); }

  void Add(std::string_view key) {
    uint64_t h = HashBytes(key.data(), key.size());
    parts_[PartitionOf(h)].Add(h, key, 1, &arena_);
  }
  HashTable& partition(size_t p) { return parts_[p]; }
  size_t groups() const;

 private:
  HashTable parts_[kPartitions];
  Arena arena_;
};

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_COUNT_TABLE_H_
