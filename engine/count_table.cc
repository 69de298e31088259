#include "engine/count_table.h"

#include <algorithm>

namespace logtally::engine {
namespace {

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t Mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Constants from wyhash (public domain): odd 64-bit numbers with balanced bits.
constexpr uint64_t kP0 = 0xa0761d6478bd642full;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ull;

}  // namespace

// A multiply-mix hash in the style of wyhash: 16 bytes per step, the tail
// read without passing the end of the key.
uint64_t HashBytes(const char* p, size_t n) {
  uint64_t seed = kP0 ^ (n * kP1);
  uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = Load64(p);
      b = Load64(p + n - 8);
    } else if (n >= 4) {
      uint32_t x, y;
      std::memcpy(&x, p, 4);
      std::memcpy(&y, p + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) |
          (static_cast<uint64_t>(static_cast<uint8_t>(p[n >> 1])) << 8) |
          static_cast<uint8_t>(p[n - 1]);
    }
  } else {
    size_t i = n;
    const char* q = p;
    while (i > 16) {
      seed = Mix(Load64(q) ^ kP1, Load64(q + 8) ^ seed);
      q += 16;
      i -= 16;
    }
    a = Load64(p + n - 16);
    b = Load64(p + n - 8);
  }
  return Mix(kP1 ^ n, Mix(a ^ kP1, b ^ seed) ^ kP2);
}

namespace {

// Key equality without a library call for the short keys that dominate:
// 8-byte words, then one overlapping load for the tail, never reading
// outside either key; lengths under 8 use overlapping 4-byte loads.
inline bool KeyEquals(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    if (n <= 64) {
      size_t i = 0;
      for (; i + 8 < n; i += 8) {
        if (Load64(a + i) != Load64(b + i)) return false;
      }
      return Load64(a + n - 8) == Load64(b + n - 8);
    }
    return std::memcmp(a, b, n) == 0;
  }
  if (n >= 4) {
    uint32_t a0, b0, a1, b1;
    std::memcpy(&a0, a, 4);
    std::memcpy(&b0, b, 4);
    std::memcpy(&a1, a + n - 4, 4);
    std::memcpy(&b1, b + n - 4, 4);
    return a0 == b0 && a1 == b1;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

Entry* HashTable::Find(uint64_t hash, std::string_view key) {
  size_t mask = capacity_ - 1;
  size_t i = hash & mask;
  for (;;) {
    Entry& e = slots_[i];
    if (e.key == nullptr) return &e;
    if (e.hash == hash && e.len == key.size() && KeyEquals(e.key, key.data(), key.size())) {
      return &e;
    }
    i = (i + 1) & mask;
  }
}

void HashTable::Grow() {
  Entry* old = slots_;
  size_t old_cap = capacity_;
  capacity_ = old_cap == 0 ? kInitialSlots : old_cap * 2;
  // Zeroed memory is all empty slots (key == nullptr).
  slots_ = static_cast<Entry*>(BigAlloc(capacity_ * sizeof(Entry)));
  size_t mask = capacity_ - 1;
  for (size_t j = 0; j < old_cap; ++j) {
    const Entry& e = old[j];
    if (e.key == nullptr) continue;
    size_t i = e.hash & mask;
    while (slots_[i].key != nullptr) i = (i + 1) & mask;
    slots_[i] = e;
  }
  BigFree(old, old_cap * sizeof(Entry));
}

void HashTable::Reuse(size_t groups) {
  size_t cap = kInitialSlots;
  while (groups * kMaxLoadDenominator > cap * kMaxLoadNumerator) cap *= 2;
  if (cap <= capacity_ && slots_ != nullptr) {
    // Zeroing pages this process has touched is far cheaper than fresh ones.
    std::memset(static_cast<void*>(slots_), 0, capacity_ * sizeof(Entry));
    size_ = 0;
    return;
  }
  Clear();
  capacity_ = cap;
  slots_ = static_cast<Entry*>(BigAlloc(capacity_ * sizeof(Entry)));
}

void HashTable::Add(uint64_t hash, std::string_view key, uint64_t count, Arena* arena) {
  if ((size_ + 1) * kMaxLoadDenominator > capacity_ * kMaxLoadNumerator) Grow();
  Entry* e = Find(hash, key);
  if (e->key == nullptr) {
    // An empty key still needs a non-null pointer to mark the slot used.
    static const char kEmpty = 0;
    e->key = key.empty() ? &kEmpty : arena->Copy(key);
    e->len = key.size();
    e->hash = hash;
    ++size_;
  }
  e->count += count;
}

void HashTable::AddStable(const Entry& in) {
  if ((size_ + 1) * kMaxLoadDenominator > capacity_ * kMaxLoadNumerator) Grow();
  Entry* e = Find(in.hash, in.view());
  if (e->key == nullptr) {
    *e = in;
    ++size_;
    return;
  }
  e->count += in.count;
}

HashTable MergePartition(const std::vector<PartitionedTable*>& tables, size_t p) {
  PartitionedTable* largest = nullptr;
  for (PartitionedTable* t : tables) {
    if (largest == nullptr || t->partition(p).size() > largest->partition(p).size()) largest = t;
  }
  if (largest == nullptr) return HashTable();
  HashTable merged = std::move(largest->partition(p));
  for (PartitionedTable* t : tables) {
    if (t == largest) continue;
    for (const Entry& e : t->partition(p).slots()) {
      if (e.key != nullptr) merged.AddStable(e);
    }
    t->partition(p).Clear();
  }
  return merged;
}

uint64_t KeyBatch::Push(std::string_view key) {
  if (buf_.size() < used_ + key.size()) buf_.resize(std::max(buf_.size() * 2, used_ + key.size() + 1024));
  if (!key.empty()) std::memcpy(buf_.data() + used_, key.data(), key.size());
  off_[n_] = used_;
  len_[n_] = key.size();
  uint64_t h = HashBytes(key.data(), key.size());
  hash_[n_] = h;
  used_ += key.size();
  ++n_;
  return h;
}

size_t PartitionedTable::memory_bytes() const {
  size_t n = arena_.bytes_allocated();
  for (const HashTable& t : parts_) n += t.memory_bytes();
  return n;
}

void PartitionedTable::Clear() {
  for (HashTable& t : parts_) t.Clear();
  arena_.Clear();
}

size_t PartitionedTable::groups() const {
  size_t n = 0;
  for (const HashTable& t : parts_) n += t.size();
  return n;
}

}  // namespace logtally::engine

